"""The review app in a real headless Chromium (Debian's chromium + chromium-driver, Selenium).

A small model is trained in the test on coded records written here; two short reports are
pre-coded into a project with it; the real server runs in a thread. The reviewer accepts a
suggestion with Enter, corrects another's code and presence with keys, changes a third and
undoes that with "u"; after a reload the database, the page and the matrix agree.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("selenium")
httpx = pytest.importorskip("httpx")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from autocoder.records import Status  # noqa: E402
from autocoder.review.server import redirect_file  # noqa: E402
from autocoder.store import Project  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "review-report.png"
CODER = "anna"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
        "/usr/bin/chromedriver): apt-get install chromium chromium-driver",
    ),
]

TRAINING = {
    ("concretisering", "present"): [
        "We hebben duidelijke afspraken gemaakt over wie wat doet.",
        "Er staat op papier wie de regie heeft.",
        "De afspraken worden vastgelegd en de week erna nagevraagd.",
    ],
    ("concretisering", "absent"): [
        "Er zijn geen duidelijke afspraken over de terugkoppeling.",
        "Niemand weet wie wat moet doen na het overleg.",
        "Afspraken worden niet vastgelegd.",
    ],
    ("onderlinge_verhoudingen", "present"): [
        "Ik ken de collega van Veilig Thuis persoonlijk.",
        "We vertrouwen elkaar en bellen gewoon even.",
        "Het contact met de wijkagent is heel prettig.",
    ],
    ("onderlinge_verhoudingen", "absent"): [
        "Er is weinig vertrouwen tussen de partners.",
        "Ik ken eigenlijk niemand bij de politie.",
        "Het contact is stroef en afstandelijk.",
    ],
    ("randvoorwaarden", "present"): [
        "We hebben genoeg tijd en capaciteit voor het overleg.",
        "Het budget voor de samenwerking is goed geregeld.",
        "Er is voldoende personeel om mee te doen.",
    ],
    ("randvoorwaarden", "absent"): [
        "Er is te weinig tijd en geld voor het overleg.",
        "We hebben een tekort aan mensen.",
        "Het budget is veel te krap.",
    ],
    (None, None): [
        "Ik werk hier sinds 2015 als casemanager.",
        "Ik heb eerst sociaal werk gestudeerd.",
        "Het interview vond plaats op kantoor.",
    ],
}

REPORTS = {
    "t01.txt": (
        "T01",
        "uitvoerend",
        "I: Vraag 5. Hoe werkt u samen met de partners?\n\n"
        "R: We hebben duidelijke afspraken gemaakt over de regie in het casusoverleg. "
        "Het contact met de wijkagent is heel prettig, we bellen gewoon even. "
        "Er is te weinig tijd voor de voorbereiding van het overleg. "
        "Ik werk hier sinds 2018 als casemanager.\n\n"
        "I: Vraag 35. Wat is het belangrijkste?\n\n"
        "R: Dat je elkaar kent en vertrouwt. Zonder budget lukt het ook niet.\n",
    ),
    "t02.txt": (
        "T02",
        "management",
        "# Verslag T02\n\n"
        "**Interviewer:** Vraag 5. Hoe verloopt de samenwerking?\n\n"
        "**Respondent:** Niemand weet wie wat moet doen na het overleg. "
        "Het budget voor de samenwerking is goed geregeld.\n",
    ),
}


def training_records(folder: Path) -> Path:
    lines = []
    for index in range(2):
        rid = f"rtrain{index:07d}"
        start = 0
        for (factor, presence), sentences in TRAINING.items():
            for text in sentences:
                end = start + len(text)
                record = {
                    "id": f"{rid}:{start}-{end}",
                    "report": rid,
                    "respondent": f"X{index}",
                    "group": "uitvoerend",
                    "question": None,
                    "speaker": None,
                    "start": start,
                    "end": end,
                    "text": text,
                    "factor": factor,
                    "presence": presence,
                    "priority": None,
                    "coder": "test",
                }
                lines.append(json.dumps(record, ensure_ascii=False))
                start = end + 1
    path = folder / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_reports(folder: Path) -> Path:
    folder.mkdir()
    for name, (respondent, group, body) in REPORTS.items():
        front = (
            f"---\nrespondent: {respondent}\norganisation: Veilig Thuis\nrole: casemanager\n"
            f"group: {group}\ndate: 2026-03-01\n---\n"
        )
        (folder / name).write_text(front + body, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from autocoder.pipeline import train_to_dir
    from autocoder.project import code_reports

    folder = tmp_path_factory.mktemp("review")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few examples, unused codes: expected here
        train_to_dir([training_records(folder)], folder / "model", folds=2)
    path = folder / "study.db"
    summary = code_reports([write_reports(folder / "reports")], path, folder / "model")
    assert summary.reports == 2 and summary.fragments >= 8
    return path


@dataclass
class Live:
    base: str
    token: str
    cookie: str
    server: object


@pytest.fixture(scope="module")
def live(project_path: Path) -> Iterator[Live]:
    with serving(project_path, CODER) as running:
        yield running


@contextmanager
def serving(project_path: Path, coder: str) -> Iterator[Live]:
    from autocoder.review.server import make_server

    server, sock, url = make_server(project_path, coder)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        WebDriverWait(None, 20, poll_frequency=0.05).until(lambda _: server.started)
        base, token = url.split("/?token=")
        guard = server.config.app.state.guard  # type: ignore[attr-defined]
        yield Live(base, token, guard.cookie_name, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    profile = tempfile.mkdtemp(prefix="autocoder-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1440,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: webdriver.Chrome, condition, timeout: float = 10) -> object:
    # The page re-renders fragment spans after every change: an element found a moment ago
    # may be replaced before its attribute is read, so a stale reference means "look again".
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.05,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(condition)


def ready(driver: webdriver.Chrome) -> None:
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def press(driver: webdriver.Chrome, *keys: str) -> None:
    body = driver.find_element(By.TAG_NAME, "body")
    for key in keys:
        idle(driver)
        body.send_keys(key)


def idle(driver: webdriver.Chrome) -> None:
    wait(driver, lambda d: d.execute_script("return document.body.dataset.busy !== '1'"))


def span(driver: webdriver.Chrome, fragment_id: str) -> object:
    return driver.find_element(By.CSS_SELECTOR, f'.frag[data-id="{fragment_id}"]')


def has(driver: webdriver.Chrome, fragment_id: str, **attributes: str) -> bool:
    element = span(driver, fragment_id)
    return all(element.get_attribute(f"data-{k}") == v for k, v in attributes.items())


def test_review_with_the_keyboard_persists(
    project_path: Path, live: Live, driver: webdriver.Chrome, capfd: pytest.CaptureFixture
) -> None:
    with Project.open(project_path, create=False) as project:
        codebook = project.project_codebook()
        report = next(r for r in project.reports() if r["source"].endswith("t01.txt"))
        records = project.coded_fragments(
            CODER, include_suggestions=True, report_ids=[report["id"]]
        )
    assert codebook is not None and all(r.suggestion is not None for r in records)
    first, second, third, fourth = (r.fragment for r in records[:4])
    suggested = records[0].suggestion
    # a code other than the one suggested for the second fragment, and its key (1-9)
    key = next(
        i for i, code in enumerate(codebook.ids[:9], 1) if code != records[1].suggestion.factor
    )
    corrected_code = codebook.ids[key - 1]

    # the way `autocoder review` opens the browser: a private local file forwarding to the URL
    opener = redirect_file(f"{live.base}/?token={live.token}")
    driver.get(opener.as_uri())
    opener.unlink()
    wait(driver, lambda d: d.current_url == f"{live.base}/" and "Reports" in d.title)
    driver.find_element(By.LINK_TEXT, Path(report["source"]).name).click()
    ready(driver)
    assert driver.find_element(By.ID, "p-pos").text.startswith("1 of ")

    press(driver, Keys.ENTER)  # accept the first suggestion as it is
    wait(driver, lambda d: has(d, first.id, status="confirmed"))
    press(driver, str(key), "a", Keys.ENTER)  # correct the second: other code, absent
    wait(driver, lambda d: has(d, second.id, status="corrected", presence="absent"))
    press(driver, "0", Keys.ENTER)  # the third: no factor ...
    wait(driver, lambda d: has(d, third.id, factor=""))
    wait(driver, lambda d: span(d, third.id).get_attribute("data-status") != "open")
    press(driver, "u")  # ... undone
    wait(driver, lambda d: has(d, third.id, status="open"))
    press(driver, "j", "x")  # the fourth: not a fragment to code
    wait(driver, lambda d: has(d, fourth.id, status="rejected"))

    driver.refresh()
    ready(driver)
    wait(driver, lambda d: has(d, first.id, status="confirmed", factor=suggested.factor or ""))
    wait(
        driver,
        lambda d: has(d, second.id, status="corrected", factor=corrected_code, presence="absent"),
    )
    wait(driver, lambda d: has(d, third.id, status="open"))
    wait(driver, lambda d: "is-rejected" in span(d, fourth.id).get_attribute("class"))
    wait(driver, lambda d: "is-done" in span(d, second.id).get_attribute("class"))
    assert "is-suggested" in span(driver, third.id).get_attribute("class") or not (
        records[2].suggestion.factor
    )

    with Project.open(project_path, create=False) as project:
        current = {d.fragment_id: d for d in project.current_decisions(CODER)}
        log = project.conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    assert current[first.id].status == Status.CONFIRMED
    assert current[first.id].factor == suggested.factor
    assert (current[second.id].status, current[second.id].factor) == (
        Status.CORRECTED,
        corrected_code,
    )
    assert current[second.id].presence == "absent"
    assert current[third.id].status == Status.SUGGESTED  # the undo, appended
    assert current[third.id].note.startswith("undo of #")
    assert (current[fourth.id].status, current[fourth.id].factor) == (Status.REJECTED, None)
    assert log == 5  # nothing was overwritten or deleted

    driver.get(f"{live.base}/matrix?by=all&code={corrected_code}&column=all")
    cell = driver.find_element(
        By.CSS_SELECTOR, f'td[data-code="{corrected_code}"][data-column="all"]'
    )
    assert cell.get_attribute("data-verdict") in ("absent", "partly")
    assert second.text in driver.find_element(By.ID, "cell").text
    driver.find_element(By.NAME, "note").send_keys("checked in the browser")
    driver.find_element(By.CSS_SELECTOR, ".verdict-form button").click()  # a real form POST
    wait(driver, lambda d: "✓" in d.find_element(By.CSS_SELECTOR, "td.selected").text)
    with Project.open(project_path, create=False) as project:
        verdicts = [(v["code"], v["column"], v["coder"], v["note"]) for v in project.verdicts()]
    assert verdicts == [(corrected_code, "all", CODER, "checked in the browser")]

    screenshot(driver, live, report["id"], third.id)
    # with this tab's history gone, u steps back the selected fragment's own last change
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{live.base}/reports/{report['id']}?f={fourth.id}")
    ready(driver)
    press(driver, "u")
    wait(driver, lambda d: has(d, fourth.id, status="open"))
    with Project.open(project_path, create=False) as project:
        fourth_now = next(d for d in project.current_decisions(CODER) if d.fragment_id == fourth.id)
    assert fourth_now.status == Status.SUGGESTED and fourth_now.note.startswith("undo of #")
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []  # no script errors, no CSP violations, nothing failed to load
    out, err = capfd.readouterr()
    for record in records:
        assert record.fragment.text not in out + err  # report text never reaches the logs


def screenshot(driver: webdriver.Chrome, live: Live, report_id: str, fragment_id: str) -> None:
    driver.get(f"{live.base}/reports/{report_id}?f={fragment_id}")
    ready(driver)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOT))


def session_cookie(driver: webdriver.Chrome, live: Live) -> dict[str, str]:
    """The browser's session (opening the link first when this browser has none yet)."""
    driver.get(f"{live.base}/favicon.ico")
    if driver.get_cookie(live.cookie) is None:
        driver.get(f"{live.base}/?token={live.token}")
        wait(driver, lambda d: d.get_cookie(live.cookie) is not None)
    return {live.cookie: driver.get_cookie(live.cookie)["value"]}


def test_post_without_csrf_and_foreign_host_are_refused(
    live: Live, project_path: Path, driver: webdriver.Chrome
) -> None:
    with Project.open(project_path, create=False) as project:
        fragment_id = project.coded_fragments(CODER)[0].fragment.id
        before = project.conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    cookies = session_cookie(driver, live)
    body = {"fragment_id": fragment_id, "factor": None, "expected_seq": None}
    with httpx.Client(base_url=live.base, cookies=cookies) as client:
        assert client.get("/").status_code == 200
        assert client.post("/api/decide", json=body).status_code == 403
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
        assert client.get("/", headers={"Host": "localhost:1"}).status_code == 400
    with httpx.Client(base_url=live.base) as anonymous:
        assert anonymous.get("/").status_code == 403
        assert anonymous.get(f"/?token={live.token}").status_code == 403  # used: one-time
    with Project.open(project_path, create=False) as project:
        after = project.conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    assert after == before


def test_blind_double_coding_by_two_coders(project_path: Path, driver: webdriver.Chrome) -> None:
    """anna decides a fragment; bob logs in: his queue holds it, his page hides her code."""
    with Project.open(project_path, create=False) as project:
        report = next(r for r in project.reports() if r["source"].endswith("t02.txt"))
        records = project.coded_fragments(
            "anna", include_suggestions=True, report_ids=[report["id"]]
        )
    target = next(r for r in records if r.extra["status"] == "open").fragment
    with serving(project_path, "anna") as anna:
        driver.get(f"{anna.base}/reports/{report['id']}?f={target.id}&token={anna.token}")
        ready(driver)
        press(driver, "0", Keys.ENTER)  # anna: no factor
        wait(driver, lambda d: has(d, target.id, status="corrected", factor=""))
    with Project.open(project_path, create=False) as project:
        annas = {d.fragment_id: d for d in project.current_decisions("anna")}
    assert annas[target.id].factor is None

    with serving(project_path, "bob") as bob:
        driver.get(f"{bob.base}/queue?limit=200&token={bob.token}")
        ready(driver)
        assert driver.find_element(By.ID, "blind-mode").text == "Blind coding"
        span(driver, target.id).click()  # anna's fragment is in bob's queue
        wait(driver, lambda d: "is-selected" in span(d, target.id).get_attribute("class"))
        assert not driver.find_element(By.ID, "p-others-box").is_displayed()
        assert "anna" not in driver.find_element(By.ID, "panel").text
        assert "anna" not in driver.page_source  # not even in the page's data
        assert span(driver, target.id).get_attribute("data-status") == "open"
        driver.get(f"{bob.base}/reports/{report['id']}?f={target.id}")
        ready(driver)
        assert "anna" not in driver.page_source
        assert "has-others" not in span(driver, target.id).get_attribute("class")
        # light Markdown: shown as headings and bold labels, the text itself unchanged
        with Project.open(project_path, create=False) as project:
            text = project.report_text(report["id"])
        shown = driver.find_element(By.ID, "text")
        assert driver.execute_script("return arguments[0].textContent", shown) == text
        assert "**" not in shown.text and "# Verslag" not in shown.text
        assert shown.find_element(By.CSS_SELECTOR, ".md-b").text == "Interviewer:"
        assert span(driver, target.id).get_attribute("textContent") == target.text
        assert "Hoe verloopt de samenwerking?" in driver.find_element(By.ID, "p-meta").text


def test_the_link_is_refused_in_a_fresh_browser(
    project_path: Path, driver: webdriver.Chrome
) -> None:
    with serving(project_path, "carol") as carol:
        driver.get(f"{carol.base}/?token={carol.token}")
        wait(driver, lambda d: d.current_url == f"{carol.base}/" and "Reports" in d.title)
        driver.delete_cookie(carol.cookie)  # as a fresh browser would come
        driver.get(f"{carol.base}/?token={carol.token}")
        heading = driver.find_element(By.TAG_NAME, "h1").text
        assert heading == "This review link has already been used"
        assert driver.get_cookie(carol.cookie) is None

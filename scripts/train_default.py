"""Train the shipped default model, models/default, from training_data/ with a fixed seed.

Usage: python scripts/train_default.py [--out models/default]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autocoder.pipeline import train_to_dir

ROOT = Path(__file__).resolve().parent.parent
SEED = 13


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "default")
    args = parser.parse_args(argv)
    summary = train_to_dir([ROOT / "training_data"], args.out, folds=5, seed=SEED)
    meta = summary.model.meta
    cv = meta["cv_metrics"]
    print(
        f"models/default: {meta['n_fragments']} fragments, {meta['n_reports']} reports, "
        f"macro-F1 {cv['factor']['macro_f1']:.3f}, kappa {cv['factor']['kappa']:.3f}, "
        f"presence accuracy {cv['presence']['accuracy']:.3f} (5-fold grouped CV)"
    )
    for warning in summary.warnings:
        print(f"warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

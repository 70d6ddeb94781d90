"""Parse benchmark (docs/benchmarks.md): DAG-file parse + serialisation, per tool.

For each size (alerts in one YAML) and each variant, one fresh Python process parses a DAG
folder with ``DagBag`` and serialises every DAG as the dag processor does; repetitions are
interleaved (rep 1 of every variant, then rep 2, ...) so machine noise hits all alike, and
the median is reported. Variants:

- ``bare``        bench/_peers/bare_dag.py: as many DAGs, each one ``EmptyOperator``, no Params
- ``floor``       bench/_peers/floor_dag.py: same DAGs, same operator, no validation
- ``ours_cold``   ``load_alert_dags`` with no manifest (validates every alert, writes it)
- ``ours_warm``   ``load_alert_dags`` with the manifest of an earlier parse (the steady state)
- ``ours_edited`` the first parse after one alert's query was edited: the manifest and the
  kept SQL verdicts are of the previous version, so every alert is validated again but only
  the edited query is parsed (each measurement toggles between two versions of the file)
- ``dagfactory``  dag-factory, one ``SQLExecuteQueryOperator`` per DAG (if installed)
- ``single_warm`` / ``single_cold``  ours with a parsing context naming one DAG (task start);
  parse only, no serialisation (a worker does not serialise)

Usage: ``python -m bench.parse [--sizes 100,1000,5000] [--reps 3] [--out FILE.json]``.
``--before DIR`` adds ``ours_warm_before``: ours warm with the package imported from DIR (a
copy of the code before a change), interleaved with the rest: an A/B in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._alerts import bench_alerts, dagfactory_yaml, ours_yaml
from bench._stats import PYTHON, REPO, airflow_env, markdown_table, median, run_json_child

PEERS = REPO / "bench" / "_peers"
CHILD = REPO / "bench" / "_parse_child.py"
VARIANTS = (
    "bare",
    "floor",
    "ours_cold",
    "ours_edited",
    "ours_warm",
    "dagfactory",
    "single_warm",
    "single_cold",
)


@dataclass(frozen=True)
class Variant:
    name: str
    folder: Path
    home: Path
    serialize: bool
    parsing_dag_id: str | None = None
    wipe_manifests: bool = False
    versions: tuple[str, str] | None = None  # alerts.yaml texts to toggle between
    pythonpath: Path | None = None  # import the package from here (the code before a change)

    def env(self) -> dict[str, str]:
        extra = {"AIRFLOW__CORE__DAGS_FOLDER": str(self.folder)}
        if self.pythonpath is not None:
            extra["PYTHONPATH"] = str(self.pythonpath)
        if self.parsing_dag_id is not None:
            extra["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = self.parsing_dag_id
            extra["_AIRFLOW_PARSING_CONTEXT_TASK_ID"] = "evaluate"
        return airflow_env(self.home, **extra)

    def measure(self) -> dict[str, Any]:
        if self.wipe_manifests:
            shutil.rmtree(self.home / "sqlsentinel", ignore_errors=True)
        if self.versions is not None:
            target = self.folder / "alerts.yaml"
            one, other = self.versions
            target.write_text(other if target.read_text("utf-8") == one else one, "utf-8")
        args = [PYTHON, str(CHILD), str(self.folder), "1" if self.serialize else "0"]
        result = run_json_child(args, self.env(), timeout=1200)
        if result["import_errors"]:
            raise RuntimeError(f"{self.name}: import errors {result['errors']}")
        return result


def dagfactory_available() -> bool:
    return importlib.util.find_spec("dagfactory") is not None


def _folder(root: Path, name: str, dag_file: str, yaml_name: str, yaml_text: str) -> Path:
    folder = root / name / "dags"
    folder.mkdir(parents=True)
    shutil.copy(PEERS / dag_file, folder / dag_file)
    (folder / yaml_name).write_text(yaml_text, encoding="utf-8")
    return folder


def build_variants(
    root: Path,
    size: int,
    wanted: Sequence[str],
    distinct_queries: bool = False,
    before: Path | None = None,
) -> list[Variant]:
    alerts = bench_alerts(size, distinct_queries=distinct_queries)
    ours_text = ours_yaml(alerts)
    edited = list(alerts)
    k = size // 3  # one alert's query edited: a new shape, so it is parsed
    edited[k] = dataclasses.replace(alerts[k], query=alerts[k].query + " AND id >= 0")
    edited_text = ours_yaml(edited)
    middle = alerts[size // 2].dag_id
    ours = _folder(root, "ours", "ours_dag.py", "alerts.yaml", ours_text)
    variants: dict[str, Variant] = {
        "bare": Variant(
            "bare",
            _folder(root, "bare", "bare_dag.py", "alerts.yaml", ours_text),
            root / "h6",
            True,
        ),
        "floor": Variant(
            "floor",
            _folder(root, "floor", "floor_dag.py", "alerts.yaml", ours_text),
            root / "h0",
            True,
        ),
        "ours_cold": Variant("ours_cold", ours, root / "h1", True, wipe_manifests=True),
        "ours_warm": Variant("ours_warm", ours, root / "h2", True),
        "ours_edited": Variant(
            "ours_edited",
            _folder(root, "ours_edited", "ours_dag.py", "alerts.yaml", ours_text),
            root / "h5",
            True,
            versions=(ours_text, edited_text),
        ),
        "single_warm": Variant("single_warm", ours, root / "h2", False, parsing_dag_id=middle),
        "single_cold": Variant(
            "single_cold", ours, root / "h3", False, parsing_dag_id=middle, wipe_manifests=True
        ),
    }
    if before is not None:
        variants["ours_warm_before"] = Variant(
            "ours_warm_before",
            _folder(root, "ours_before", "ours_dag.py", "alerts.yaml", ours_text),
            root / "h7",
            True,
            pythonpath=before,
        )
    if dagfactory_available():
        folder = _folder(
            root, "dagfactory", "dagfactory_dag.py", "dagfactory.yml", dagfactory_yaml(alerts)
        )
        variants["dagfactory"] = Variant("dagfactory", folder, root / "h4", True)
    return [variants[name] for name in wanted if name in variants]


def run_size(
    size: int,
    reps: int,
    wanted: Sequence[str],
    distinct_queries: bool = False,
    before: Path | None = None,
) -> dict[str, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="sqlsentinel-bench-parse-") as tmp:
        variants = build_variants(Path(tmp), size, wanted, distinct_queries, before)
        for variant in variants:
            # Untimed: writes bytecode caches, and the manifest the warm runs read.
            variant.measure()
        runs: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
        for rep in range(reps):
            for variant in variants:
                runs[variant.name].append(variant.measure())
                print(
                    f"  size {size} rep {rep + 1}/{reps} {variant.name}: "
                    f"{runs[variant.name][-1]['total_s']:.3f}s",
                    file=sys.stderr,
                    flush=True,
                )
        return runs


def summarise(size: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"size": size, "variants": {}}
    for name, results in runs.items():
        summary["variants"][name] = {
            "reps": len(results),
            "dags": results[0]["dags"],
            "parse_s": median([r["parse_s"] for r in results]),
            "serialize_s": median([r["serialize_s"] for r in results]),
            "total_s": median([r["total_s"] for r in results]),
            "cpu_s": median([r["cpu_s"] for r in results]),
            "maxrss_mb": median([r["maxrss_mb"] for r in results]),
            "baseline_rss_mb": median([r["baseline_rss_mb"] for r in results]),
            "all_total_s": [round(r["total_s"], 4) for r in results],
        }
    v = summary["variants"]
    ratios: dict[str, float] = {}
    for name in ("ours_cold", "ours_edited", "ours_warm", "dagfactory"):
        if name in v and "floor" in v:
            ratios[f"{name}/floor"] = v[name]["total_s"] / v["floor"]["total_s"]
    for name in (
        "floor",
        "ours_cold",
        "ours_edited",
        "ours_warm",
        "ours_warm_before",
        "dagfactory",
    ):
        if name in v and "bare" in v:
            ratios[f"{name}/bare"] = v[name]["total_s"] / v["bare"]["total_s"]
            ratios[f"{name}/bare_cpu"] = v[name]["cpu_s"] / v["bare"]["cpu_s"]
    for name in ("ours_cold", "ours_edited", "ours_warm"):
        if name in v and "dagfactory" in v:
            ratios[f"dagfactory/{name}"] = v["dagfactory"]["total_s"] / v[name]["total_s"]
    for single, full in (("single_warm", "ours_warm"), ("single_cold", "ours_cold")):
        if single in v and full in v:
            ratios[f"{single}/{full}"] = v[single]["total_s"] / v[full]["total_s"]
            ratios[f"{single}/{full}_parse_only"] = v[single]["parse_s"] / v[full]["parse_s"]
    summary["ratios"] = ratios
    return summary


def render(summaries: Sequence[dict[str, Any]]) -> str:
    rows = []
    for s in summaries:
        for name, m in s["variants"].items():
            rows.append(
                [
                    s["size"],
                    name,
                    m["dags"],
                    f"{m['parse_s']:.3f}",
                    f"{m['serialize_s']:.3f}",
                    f"{m['total_s']:.3f}",
                    f"{m['cpu_s']:.3f}",
                    f"{m['maxrss_mb']:.0f} (+{m['maxrss_mb'] - m['baseline_rss_mb']:.0f})",
                ]
            )
    table = markdown_table(
        [
            "alerts",
            "variant",
            "DAGs",
            "parse s",
            "serialise s",
            "total s",
            "CPU s",
            "peak RSS MB (+parse)",
        ],
        rows,
    )
    ratio_rows = [[s["size"], k, f"{r:.3f}"] for s in summaries for k, r in s["ratios"].items()]
    return (
        table + "\n\n" + markdown_table(["alerts", "ratio (medians of total)", "value"], ratio_rows)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--distinct-queries",
        action="store_true",
        help="every alert's query of its own shape (no reuse of SQL verdicts; see _alerts.py)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="also measure ours_warm_before: the package imported from this directory "
        "(a copy of the code before a change), interleaved",
    )
    parser.add_argument("--out", help="write the results here as JSON (and the table as .md)")
    args = parser.parse_args(argv)
    wanted = [v for v in args.variants.split(",") if v]
    if args.before is not None and "ours_warm_before" not in wanted:
        wanted.append("ours_warm_before")
    if "dagfactory" in wanted and not dagfactory_available():
        print("dag-factory is not installed: its variant is skipped", file=sys.stderr)
    summaries = [
        summarise(size, run_size(size, args.reps, wanted, args.distinct_queries, args.before))
        for size in (int(s) for s in args.sizes.split(","))
    ]
    if args.out:
        Path(args.out).write_text(json.dumps(summaries, indent=2), encoding="utf-8")
        Path(args.out).with_suffix(".md").write_text(render(summaries) + "\n", encoding="utf-8")
    print(render(summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

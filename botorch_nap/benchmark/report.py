r"""Report a results file: a text table, Markdown for the README, regret and rank plots.

Everything here reads the dict made by :func:`~botorch_nap.benchmark.metrics.summarize`.

* :func:`format_table`: plain text for the terminal (``botorch-nap report``).
* :func:`format_markdown`: the same numbers as Markdown; :func:`update_readme` replaces
  the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` in a README, so
  that its Results section is produced by a command, never typed by hand.
* :func:`plot_regret` (mean and median normalised regret per step, bootstrap 95% bands,
  log scale as in the paper's figure) and :func:`plot_ranks` (mean rank per step), PNGs
  written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

START_MARK = "<!-- results:start -->"
END_MARK = "<!-- results:end -->"
#: Log-scale plots show regret below this value (exact zeros included) at this value.
REGRET_FLOOR = 1e-4
STATS = ("mean", "median")


def label(spec: str) -> str:
    """A short method label: checkpoint paths shortened to their last two parts."""
    name, _, arg = spec.partition(":")
    if not arg:
        return name
    parts = Path(arg).parts
    return f"{name}:{'/'.join(parts[-2:]) if len(parts) > 1 else arg}"


def _num(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "-"
    if v != 0 and abs(v) < 10 ** -(digits - 1):
        return f"{v:.1e}"
    return f"{v:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")


def _where(summary: dict) -> str:
    """``"<split> split"``, plus the pool size of a continuous family run in pools."""
    pool = summary.get("pool_size")
    return f"{summary['split']} split" + (f", pools of {pool} candidates" if pool else "")


def _header(summary: dict) -> str:
    return (
        f"{summary['family']} ({_where(summary)}): {summary['n_tasks']} tasks x "
        f"{summary['n_seeds']} seeds, {summary['n_init']} initial points + "
        f"{summary['steps']} steps; paired tests against {label(summary['reference'])}"
    )


def _main_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    cps = summary["checkpoints"]
    cols = ["method", *[f"r@{c}" for c in cps], "AUC [95% CI]", "p(AUC)"]
    cols += [f"rank@{summary['steps']}", "rank(AUC)", f"zero@{summary['steps']}", "ms/decision"]
    cols += ["repeats"]
    rows = []
    for m in summary["methods"]:
        row = summary["table"][m]
        a = row["auc"]
        test = summary["tests"].get(m)
        rows.append(
            [
                label(m),
                *[_num(row[f"@{c}"]["mean"]) for c in cps],
                f"{_num(a['mean'])} [{_num(a['lo'])}, {_num(a['hi'])}]",
                "ref" if test is None else _p(test["auc"]["p"]),
                f"{row['final_rank']:.2f}",
                f"{row['auc_rank']:.2f}",
                f"{row['zero_frac_final']:.2f}",
                _ms(row["ms_per_decision"]),
                "-" if row.get("repeats") is None else f"{row['repeats']}/{row['proposals']}",
            ]
        )
    return cols, rows


def _also(summary: dict) -> list[dict]:
    """The extra paired tests (``--also-vs``); older summaries hold only ``tests_also``."""
    if summary.get("tests_also_all") is not None:
        return summary["tests_also_all"]
    return [summary["tests_also"]] if summary.get("tests_also") else []


def _test_rows(summary: dict, also: dict | None = None) -> tuple[list[str], list[list[str]]]:
    keys = ["auc", *[f"@{c}" for c in summary["checkpoints"]]]
    ref, tests = summary["reference"], summary["tests"]
    if also is not None:
        ref, tests = also["reference"], also["tests"]
    cols = ["method vs " + label(ref), *[f"p {k}" for k in keys], "n differ"]
    rows = []
    for m, t in tests.items():
        cells = []
        for k in keys:
            arrow = {"a": "<", "b": ">", "tie": "="}[t[k]["better"]]
            cells.append(f"{_p(t[k]['p'])} {arrow}")
        rows.append([label(m), *cells, str(t["auc"]["n_nonzero"])])
    return cols, rows


def _task_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    cols = ["task", *[label(m) for m in summary["methods"]]]
    rows = []
    for tid, entry in summary["per_task"].items():
        aucs = {m: v["auc"] for m, v in entry["methods"].items()}
        best = min(aucs.values())
        cells = [
            _num(v) + (" *" if v <= best + 1e-12 and len(aucs) > 1 else "") for v in aucs.values()
        ]
        rows.append([tid + (" (trivial)" if entry["trivial"] else ""), *cells])
    return cols, rows


def _text_table(cols: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]

    def line(r: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))
        )

    return "\n".join([line(cols), "  ".join("-" * w for w in widths), *map(line, rows)])


def _md_table(cols: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


_LEGEND = (
    "r@k: mean normalised regret after k steps; AUC: mean regret over all steps (main "
    "summary) with a bootstrap 95% CI; p: Wilcoxon signed-rank over (task, seed) pairs "
    "against the reference (< / >: lower / higher mean than the reference); rank: average "
    "rank among the methods (ties share ranks, 1 = best); zero: fraction of runs at zero "
    "regret; repeats: proposals within 1e-6 (unit-cube distance) of an evaluated point, of all "
    "proposals."
)


def format_table(summary: dict, per_task: bool = True) -> str:
    """The report as plain text: main table, paired tests, per-task AUC."""
    parts = [_header(summary), "", _text_table(*_main_rows(summary))]
    if summary["tests"]:
        parts += ["", _text_table(*_test_rows(summary))]
    for also in _also(summary):
        parts += ["", _text_table(*_test_rows(summary, also))]
    if per_task:
        parts += [
            "",
            "Per-task AUC (mean over seeds; * best on the task; trivial: every run of every "
            f"method at zero regret by step {min(10, summary['steps'])})",
            _text_table(*_task_rows(summary)),
        ]
    if summary["n_runs_excluded"]:
        parts += ["", f"{summary['n_runs_excluded']} runs outside complete cells are excluded."]
    return "\n".join(parts)


def format_markdown(
    summary: dict,
    results: dict | None = None,
    images: list[str] | None = None,
    title: str | None = None,
) -> str:
    """The report as Markdown (for the README's Results section).

    Args:
        summary: from :func:`~botorch_nap.benchmark.metrics.summarize`.
        results: the results document (adds the commit, date and package versions).
        images: image paths (relative to the Markdown file) to embed.
        title: a heading; default the family and split.
    """
    title = title or f"{summary['family']} ({_where(summary)})"
    parts = [f"### {title}", "", _header(summary) + "."]
    if results is not None:
        sess = results.get("sessions") or [{}]
        last = sess[-1]
        commit = (last.get("git_commit") or "unknown")[:10]
        pk = last.get("packages", {})
        parts[-1] += (
            f" Results file updated {results.get('updated', '?')}, commit `{commit}`"
            f"{' (with local changes)' if last.get('git_dirty') else ''}, torch "
            f"{pk.get('torch')}, botorch {pk.get('botorch')}."
        )
        methods = results.get("methods", {})
        ck = [
            f"`{label(m)}` = `{methods[m]['checkpoint']}`"
            for m in summary["methods"]
            if methods.get(m, {}).get("checkpoint")
        ]
        if ck:
            parts += ["", "Checkpoints: " + "; ".join(ck) + "."]
    parts += ["", _md_table(*_main_rows(summary)), "", _LEGEND]
    if summary["tests"]:
        parts += ["", _md_table(*_test_rows(summary))]
    for also in _also(summary):
        parts += ["", _md_table(*_test_rows(summary, also))]
    if images:
        parts += ["", *[f"![{Path(p).stem}]({p})" for p in images]]
    parts += [
        "",
        "<details><summary>Per-task AUC</summary>",
        "",
        _md_table(*_task_rows(summary)),
        "",
        "</details>",
    ]
    if summary["n_runs_excluded"]:
        parts += ["", f"{summary['n_runs_excluded']} runs outside complete cells are excluded."]
    return "\n".join(parts) + "\n"


def update_readme(readme: str | os.PathLike, markdown: str) -> None:
    """Replace the text between the results markers of ``readme`` with ``markdown``."""
    path = Path(readme)
    text = path.read_text()
    pattern = re.compile(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(
            f"{path}: no '{START_MARK}' ... '{END_MARK}' markers; add them where the results "
            "should go"
        )
    block = f"{START_MARK}\n<!-- generated by `botorch-nap report`; do not edit -->\n\n"
    block += markdown.strip() + f"\n\n{END_MARK}"
    path.write_text(pattern.sub(lambda _: block, text, count=1))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


#: Line styles cycled with the colours: ten colours repeat past ten methods, and two
#: methods with the same decisions (an NP shipped as its own NAP) draw the same curve.
LINESTYLES = ("-", "--", ":", "-.")


def _style(i: int) -> dict:
    """The ``i``-th method's colour and line style: no two of the first 40 alike."""
    return {"color": f"C{i % 10}", "linestyle": LINESTYLES[(i // 10 + i) % len(LINESTYLES)]}


def plot_regret(summary: dict, path: str | os.PathLike) -> Path:
    """Mean and median normalised regret per step (bootstrap 95% bands), log scale."""
    plt = _pyplot()
    steps = np.arange(summary["steps"] + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    lowest = min(
        min(summary["curves"][m][f"{stat}_lo"]) for m in summary["methods"] for stat in STATS
    )
    for ax, stat in zip(axes, STATS):
        for i, m in enumerate(summary["methods"]):
            c = summary["curves"][m]
            y = np.maximum(c[stat], REGRET_FLOOR)
            lo = np.maximum(c[f"{stat}_lo"], REGRET_FLOOR)
            hi = np.maximum(c[f"{stat}_hi"], REGRET_FLOOR)
            (line,) = ax.plot(steps, y, label=label(m), **_style(i))
            ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(REGRET_FLOOR, lowest) * 0.8)
        ax.set_xlabel("BO step (after the initial design)")
        ax.set_title(f"{stat} normalised regret")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"normalised regret (floor {REGRET_FLOOR:g})")
    axes[0].legend(fontsize=8)
    fig.suptitle(_header(summary), fontsize=9)
    return _save(fig, path)


def _save(fig, path: str | os.PathLike) -> Path:
    """Lay out, write (creating the folder) and close a figure."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_ranks(summary: dict, path: str | os.PathLike) -> Path:
    """Mean rank per step (ties share ranks; 1 = best)."""
    plt = _pyplot()
    steps = np.arange(summary["steps"] + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, m in enumerate(summary["methods"]):
        ax.plot(steps, summary["curves"][m]["rank"], label=label(m), **_style(i))
    ax.set_xlabel("BO step (after the initial design)")
    ax.set_ylabel("average rank (1 = best)")
    ax.set_ylim(0.9, len(summary["methods"]) + 0.1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(_header(summary), fontsize=8)
    return _save(fig, path)


def write_plots(summary: dict, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """``<out_dir>/<stem>_regret.png`` and ``<out_dir>/<stem>_rank.png``."""
    out_dir = Path(out_dir)
    return [
        plot_regret(summary, out_dir / f"{stem}_regret.png"),
        plot_ranks(summary, out_dir / f"{stem}_rank.png"),
    ]

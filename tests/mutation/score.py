"""The mutation score of each pure rule module, after `mutmut run` (`make mutation`).

Prints, per module of `[tool.mutmut] only_mutate`, the mutants killed out of those made, then
every mutant that survived with its diff. Exits 1 when a module scores below the threshold,
when a surviving mutant is not listed in `equivalent.toml` (beside this file) with a reason,
or when a listed mutant no longer survives (the list must say what is true today).

A timeout counts as killed: the mutant made a test loop or hang (e.g. a loop that never ends).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

EQUIVALENTS = Path("tests/mutation/equivalent.toml")  # mutmut, and so this, runs from the root
KILLED = {"killed", "timeout", "caught by type check"}


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's, e.g. services.milestone.domain.x_status_at__mutmut_21
    module: str  # the source file, e.g. services/milestone/domain.py
    status: str

    @property
    def function(self) -> str:
        """`status_at`, or `Target.is_behind` for a method."""
        mangled = self.name.rpartition(".")[2].partition("__mutmut_")[0]
        if mangled.startswith("x_"):
            return mangled[2:]
        _, cls, method = mangled.split("ǁ")
        return f"{cls}.{method}"

    def diff(self) -> str:
        return get_diff_for_mutant(self.name, path=self.module)

    def mutated(self) -> str:
        """The lines as the mutant has them, stripped: what an equivalence is stated about."""
        lines = self.diff().splitlines()[2:]  # past the ---/+++ header
        return "\n".join(line[1:].strip() for line in lines if line.startswith("+"))


@dataclass(frozen=True)
class Equivalent:
    module: str
    function: str
    mutated: str
    reason: str

    def covers(self, mutant: Mutant) -> bool:
        return (self.module, self.function) == (mutant.module, mutant.function) and (
            self.mutated.strip() == mutant.mutated()
        )


def rule_modules() -> list[str]:
    patterns = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    sources = sorted(str(p) for top in ("contracts", "services") for p in Path(top).rglob("*.py"))
    return [s for s in sources if any(fnmatch.fnmatch(s, p) for p in patterns)]


def mutants_of(module: str) -> list[Mutant] | None:
    meta = Path("mutants") / f"{module}.meta"
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return [Mutant(name, module, status_by_exit_code[code]) for name, code in codes.items()]


def equivalents() -> list[Equivalent]:
    listed = tomllib.loads(EQUIVALENTS.read_text()).get("mutant", [])
    for entry in listed:
        if not str(entry.get("reason", "")).strip():
            sys.exit(f"{EQUIVALENTS}: an entry without a reason: {entry}")
    return [Equivalent(**entry) for entry in listed]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=95.0, help="percent killed, per module")
    threshold = parser.parse_args().threshold
    listed = equivalents()
    failures: list[str] = []
    timeouts: list[Mutant] = []
    survivors: list[tuple[Mutant, Equivalent | None]] = []
    print(f"Mutation score per rule module (killed / mutants; at least {threshold:g} %):")
    for module in rule_modules():
        mutants = mutants_of(module)
        if not mutants:
            failures.append(f"{module}: no mutant was tested (was `mutmut run` run?)")
            print(f"  {module:34} not run")
            continue
        killed = [m for m in mutants if m.status in KILLED]
        alive = [(m, next((e for e in listed if e.covers(m)), None)) for m in mutants]
        alive = [(m, e) for m, e in alive if m.status not in KILLED]
        equivalent = sum(e is not None for _, e in alive)
        score = 100 * len(killed) / len(mutants)
        print(
            f"  {module:34} {len(killed):4} / {len(mutants):<4} {score:5.1f} %"
            f"   equivalent {equivalent}, not killed {len(alive) - equivalent}"
        )
        if score < threshold:
            failures.append(f"{module}: {score:.1f} % killed, below {threshold:g} %")
        timeouts += [m for m in killed if m.status == "timeout"]
        survivors += alive
    failures += [f"{m.name} ({m.status}): not killed, not listed" for m, e in survivors if not e]
    used = {id(e) for _, e in survivors if e is not None}
    failures += [
        f"{EQUIVALENTS.name} lists `{e.mutated}` in {e.module} {e.function}, which no longer "
        "survives: remove the entry"
        for e in listed
        if id(e) not in used
    ]
    if timeouts:
        print("\nKilled by a timeout (a test looped): " + ", ".join(m.name for m in timeouts))
    print("\nSurviving mutants:" if survivors else "\nSurviving mutants: none.")
    for mutant, equivalent in survivors:
        verdict = f"equivalent: {equivalent.reason}" if equivalent else "NOT KILLED"
        print(f"\n{mutant.name}  [{mutant.status}] {verdict}\n{mutant.diff()}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        print(
            "\nKill a survivor with a test of the behaviour it breaks; if no behaviour can tell "
            f"it from the original, list it in {EQUIVALENTS} with the reason."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

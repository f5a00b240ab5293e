"""Solomon files, the DIMACS conventions, and the `solve_vrp` command (no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from routing.optimiser import solomon

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"  # C101 and R101, copied from the set


def small_file(tmp_path: Path, customers: int = 8, vehicles: int = 3) -> Path:
    """The depot and the first `customers` rows of C101, as a Solomon file of its own."""
    lines = (DATA / "C101.txt").read_text().splitlines()
    rows = [line for line in lines if line.strip() and line.split()[0].isdigit()]
    body = [line for line in rows if len(line.split()) == 7][: customers + 1]
    header = "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME"
    vehicle_block = ["VEHICLE", "NUMBER     CAPACITY", f"  {vehicles}  200"]
    text = ["C101-small", "", *vehicle_block, "", "CUSTOMER", header, "", *body]
    path = tmp_path / "small.txt"
    path.write_text("\n".join(text) + "\n")
    return path


def test_reads_a_published_instance():
    instance = solomon.read(DATA / "C101.txt")
    assert (instance.name, instance.vehicles, instance.capacity) == ("C101", 25, 200)
    assert len(instance.customers) == 100
    assert instance.customers[0].number == 1 and instance.depot.due == 1236


def test_a_malformed_row_names_its_line(tmp_path):
    path = small_file(tmp_path)
    path.write_text(path.read_text() + "  9  1  2  3\n")
    with pytest.raises(solomon.SolomonFormatError, match=r"line \d+: expected 7 columns"):
        solomon.read(path)


def test_a_file_without_vehicle_block_is_refused(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(solomon.SolomonFormatError, match="not a Solomon file"):
        solomon.read(path)


def test_travel_times_round_up_so_integer_feasible_means_feasible():
    instance = solomon.read(DATA / "R101.txt")
    problem = solomon.to_problem(instance)
    exact = solomon.euclidean(instance) * solomon.SCALE
    assert (problem.durations_s >= exact - 1e-9).all()
    assert abs(problem.distances_m - exact).max() <= 0.5


def test_exact_check_catches_a_late_customer_and_a_missing_one():
    instance = solomon.read(DATA / "C101.txt")
    everyone = [c.number for c in instance.customers]
    # all 100 customers on one route: windows missed and the van overloaded
    problems = solomon.exact_violations(instance, [everyone])
    assert any("served at" in p for p in problems)  # one route cannot make every window
    assert any("over capacity" in p for p in problems)
    problems = solomon.exact_violations(instance, [[n] for n in everyone[1:]])
    assert any("missing [1]" in p for p in problems)


def test_solve_vrp_prints_the_documented_json(tmp_path):
    path = small_file(tmp_path)
    out = StringIO()
    call_command(
        "solve_vrp",
        str(path),
        "--format",
        "solomon",
        "--seconds",
        "1",
        "--json",
        "--workers",
        "1",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert set(result) == {"distance", "vehicles", "routes", "unassigned"}
    instance = solomon.read(path)
    assert sorted(n for r in result["routes"] for n in r) == list(range(1, 9))
    assert result["unassigned"] == []
    assert result["vehicles"] == len(result["routes"]) <= 3
    assert solomon.exact_violations(instance, result["routes"]) == []
    assert result["distance"] == pytest.approx(solomon.exact_distance(instance, result["routes"]))


def test_solve_vrp_reaches_the_reference_on_c101():
    out = StringIO()
    call_command("solve_vrp", str(DATA / "C101.txt"), "--seconds", "3", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["vehicles"] == 10
    assert result["distance"] == pytest.approx(828.94, abs=0.01)  # the best known


def test_solve_vrp_refuses_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("solve_vrp", str(tmp_path / "missing.txt"), "--seconds", "1")
    with pytest.raises(CommandError, match="positive"):
        call_command("solve_vrp", str(small_file(tmp_path)), "--seconds", "0")


def test_solve_vrp_runs_without_any_database(tmp_path):
    """A DATABASE_URL nobody listens on: the command must never try to connect."""
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "solve_vrp",
            str(small_file(tmp_path)),
            "--seconds",
            "1",
            "--json",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unassigned"] == []

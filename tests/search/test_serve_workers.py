"""``parity serve --workers`` defaults to the CPUs the process may use: its affinity, capped by a cgroup
CPU quota (an ECS task of 512 CPU units sees the host's cores but may use half of one: one worker)."""

from __future__ import annotations

import os
from pathlib import Path

from parity.search.serve import cgroup_cpu_quota, default_workers


def test_the_cgroup_quota_is_read_from_v2_or_v1_files(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None  # no files: unknown, not zero
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 0.5
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    assert cgroup_cpu_quota(tmp_path) == 2.0


def test_the_default_is_at_least_one_and_never_more_than_the_process_may_use() -> None:
    workers = default_workers()
    assert 1 <= workers <= len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota()
    if quota is not None:
        assert workers <= max(1, quota)

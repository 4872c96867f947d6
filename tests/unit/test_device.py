"""Where a model runs: the CPU threads of processes that train at once."""

import os


def test_families_at_once_share_the_cores_as_they_finish(tmp_path, monkeypatch):
    """Each epoch a pool process takes cores / the processes training now; one_cpu_thread wins."""
    import torch

    from components.runtime.device import SHARE_ENV, one_cpu_thread, share_cores

    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    monkeypatch.setenv(SHARE_ENV, str(tmp_path))
    try:
        for busy in (cores * 2, 1):
            for marker in tmp_path.iterdir():
                marker.unlink()
            for pid in range(busy):
                (tmp_path / str(pid)).touch()
            share_cores()
            assert torch.get_num_threads() == max(1, cores // busy)
        with one_cpu_thread(torch.device("cpu")):
            share_cores()  # a small recurrent net stays on one thread
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)

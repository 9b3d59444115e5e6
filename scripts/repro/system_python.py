"""Debian's python3-matplotlib is installed for the system interpreter; a pyenv/venv python3 earlier on PATH does
not see it. reexec_for_matplotlib() retries a script under /usr/bin/python3 (as scripts/plot_metrics.py does);
where that is impossible the caller goes on without plots."""
import os
import sys


def reexec_for_matplotlib(script):
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
        os.execv(system, [system, os.path.abspath(script)] + sys.argv[1:])

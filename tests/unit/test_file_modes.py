"""Output files are readable by the output folder's group and nobody else (grader/files.py):
files 0640, folders 0750, the group and the set-group-id bit carried down to new folders."""

from __future__ import annotations

import grp
import os
import stat

from grader.files import DIR_MODE, FILE_MODE, make_dirs, write_json, write_text


def test_new_folders_and_files_keep_the_group_and_hide_from_others(tmp_path):
    staff = next((g.gr_gid for g in grp.getgrall() if g.gr_gid not in (0, os.getgid())), os.getgid())
    os.chown(tmp_path, -1, staff)          # as root any group; else the test uses one's own
    os.chmod(tmp_path, 0o2770)
    write_text(tmp_path / "out" / "feedback" / "alice.md", "hi\n")
    write_json(make_dirs(tmp_path / "out" / "results" / "history" / "alice") / "x.json", {})
    for folder in ("out", "out/feedback", "out/results/history/alice"):
        st = (tmp_path / folder).stat()
        assert stat.S_IMODE(st.st_mode) == DIR_MODE | stat.S_ISGID and st.st_gid == staff, folder
    for f in ("out/feedback/alice.md", "out/results/history/alice/x.json"):
        st = (tmp_path / f).stat()
        assert stat.S_IMODE(st.st_mode) == FILE_MODE == 0o640 and st.st_gid == staff, f

"""How long /verify takes to compare a pasted text with thousands of refutations (issue 16).

Run from the checkout: ``python scripts/refutation_bench.py [N]`` (default N = 5,000), in the
project's venv. In a temporary directory: a real migrated SQLite file with the map, the
units and the demo users, one refutation published through the real workflow, then N - 1
copies of its row with other claims (random sentences from a Vietnamese vocabulary) and
codes. Then ``alerts.residents.verify.check`` is timed on pasted texts: the first check
(every claim normalised into the cache), then warm checks of a re-typed claim, of an
unrelated message and of a link. A measurement, not a test: figures are printed as
``name=value``; the README ("Verify") says what they were here.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench import FIGURES  # noqa: E402  (the figures' format is the benchmark's)
from bench import note  # noqa: E402
from bench import report  # noqa: E402

WORDS = (
    "khẩn cấp thông báo người dân cập nhật tài khoản ngân hàng bị khóa phạt tiền triệu đồng"
    " công an phường xã căn cước định danh điện tử ứng dụng đường link hỗ trợ miễn phí trúng"
    " thưởng quà tặng bảo hiểm xã hội thuế thu nhập cá nhân hoàn tiền điện nước cắt ngày mai"
    " chia sẻ ngay cho người thân bạn bè lừa đảo chiếm đoạt giả mạo cơ quan nhà nước"
).split()


def build(path: Path, n: int, rng: random.Random) -> tuple[str, str]:
    """Publish one refutation, copy it N - 1 times with other claims; return its claim and
    its code."""
    from alerts import migrations
    from alerts import seed
    from alerts.db import open_db
    from alerts.db import write
    from tests.builders import approve
    from tests.builders import submitted

    db = open_db(path)
    migrations.apply(db)
    seed.load_reference_data(db)
    seed.seed_demo_users(db)
    claim = "Từ ngày 15/12 ai chưa cập nhật VNeID mức 2 sẽ bị khóa tài khoản ngân hàng"
    refutation = {"claim": claim, "links": ["http://vneid-capnhat.com/cap-nhat"]}
    first = submitted(db, warning_type="fake_news", indicators={}, refutation=refutation)
    alert = approve(db, "hanoi.duyet", first)
    row = db.execute("SELECT * FROM warnings WHERE id = ?", [alert.id]).fetchone()
    names = [d[0] for d in db.execute("SELECT * FROM warnings LIMIT 0").description]
    base = dict(zip(names, row, strict=True))
    del base["warning_type"]  # generated from the content
    began = time.perf_counter()
    with write(db):
        for index in range(2, n + 1):
            content = json.loads(base["content"])
            words = rng.choices(WORDS, k=rng.randint(12, 30))
            content["refutation"] = {"claim": " ".join(words), "links": [f"http://s{index}.vn/x"]}
            values = {
                **base,
                "id": base["id"] + index,
                "series_id": base["id"] + index,
                "code": f"BENCH{index:06d}"[-8:],
                "content": json.dumps(content, ensure_ascii=False),
                "content_hash": f"{index:064x}",
            }
            marks = ", ".join("?" * len(values))
            db.execute(
                f"INSERT INTO warnings ({', '.join(values)}) VALUES ({marks})", [*values.values()]
            )
    note(f"{n - 1} copies inserted in {time.perf_counter() - began:.1f} s")
    db.close()
    return claim, alert.code


def timed(check, text: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        check(text)
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from alerts.db import open_db
    from alerts.residents import verify
    from tests.builders import CONFIG

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        claim, code = build(path, args.n, random.Random(16))
        db = open_db(path)
        check = lambda text: verify.check(db, text, CONFIG)  # noqa: E731
        retyped = "tu ngay 15/12 ai chua cap nhat vneid muc 2 se bi khoa tai khoan ngan hang!!"
        began = time.perf_counter()
        first = check(retyped)
        report("refutations", args.n)
        report("cold_check_ms", (time.perf_counter() - began) * 1000)
        assert first.verdict == verify.REFUTED and first.refutations[0].code == code
        texts = {
            "retyped": retyped,
            "unrelated": "Chúc mừng bạn đã trúng thưởng một chiếc xe máy, bấm vào link để nhận.",
            "link": "hxxps://vneid-capnhat[.]com/cap-nhat",
        }
        for name, text in texts.items():
            times = timed(check, text, args.repeat)
            report(f"{name}_p50_ms", statistics.median(times))
            report(f"{name}_max_ms", max(times))
        print(" ".join(f"{k}={v}" for k, v in FIGURES.items()))


if __name__ == "__main__":
    main()

"""Fetch LOBSTER's free sample files (NASDAQ, 2012-06-21) into ``$COMPANION_DATA/lobster``.

Usage::

    python data_scripts/get_lobster_sample.py                       # AAPL AMZN GOOG INTC MSFT, level 1
    python data_scripts/get_lobster_sample.py --tickers GOOG --levels 1 5 10
    python data_scripts/get_lobster_sample.py --from ../shared/data/lobster   # copy, no network

Downloads ``https://lobsterdata.com/info/sample/LOBSTER_SampleFile_<TICKER>_2012-06-21_<LEVEL>.zip``
and unzips its two CSV files (message + orderbook; LOBSTER's ReadMe is skipped). ``--from DIR``
copies matching ``TICKER_2012-06-21_*_{message,orderbook}_LEVEL.csv[.gz]`` files (or the sample
zips themselves) from a folder instead. Files already present are kept unless ``--force``.
Exit code 0 when every requested sample is in place, 1 otherwise (e.g. offline). Cite LOBSTER
(Huang & Polak 2011) and check lobsterdata.com's terms before redistributing the files.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from companion.data import data_dir  # noqa: E402

DATE = "2012-06-21"
URL = "https://lobsterdata.com/info/sample/LOBSTER_SampleFile_{ticker}_{date}_{level}.zip"
TICKERS = ("AAPL", "AMZN", "GOOG", "INTC", "MSFT")
LEVELS = (1, 5, 10)


def _name_re(ticker: str, level: int) -> re.Pattern:
    return re.compile(rf"^{re.escape(ticker)}_{DATE}_\d+_\d+_(message|orderbook)_{level}\.csv(\.gz)?$")


def _present(dest: Path, ticker: str, level: int) -> list[Path]:
    pat = _name_re(ticker, level)
    return sorted(p for p in dest.iterdir() if pat.match(p.name)) if dest.is_dir() else []


def _complete(files: list[Path]) -> bool:
    kinds = {"message" if "_message_" in p.name else "orderbook" for p in files}
    return kinds == {"message", "orderbook"}


def _extract_csvs(zip_bytes: bytes, dest: Path, ticker: str, level: int, source: str) -> list[Path]:
    """Unzip the sample's message and orderbook CSVs into ``dest``; returns the written paths."""
    pat = _name_re(ticker, level)
    out = []
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if pat.match(name):
                    target = dest / name
                    with zf.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    out.append(target)
    except zipfile.BadZipFile as e:
        raise RuntimeError(f"{source} is not a valid zip file ({e})") from None
    if not _complete(out):
        raise RuntimeError(f"{source} holds no {ticker} level-{level} message + orderbook CSV pair")
    return out


def fetch_one(ticker: str, level: int, dest: Path, timeout: float = 60.0) -> list[Path]:
    """Download one sample zip and unzip its CSVs into ``dest``."""
    url = URL.format(ticker=ticker, date=DATE, level=level)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https URL
            data = resp.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ConnectionError(
            f"cannot download {url} ({reason}). Offline? Copy the files from a folder instead: "
            f"python data_scripts/get_lobster_sample.py --from ../shared/data/lobster"
        ) from None
    return _extract_csvs(data, dest, ticker, level, url)


def copy_one(ticker: str, level: int, src: Path, dest: Path) -> list[Path]:
    """Copy one sample's CSVs (or unzip its sample zip) from folder ``src`` into ``dest``."""
    files = _present(src, ticker, level)
    if _complete(files):
        out = []
        for f in files:
            target = dest / f.name
            if f.resolve() != target.resolve():
                shutil.copyfile(f, target)
            out.append(target)
        return out
    z = src / f"LOBSTER_SampleFile_{ticker}_{DATE}_{level}.zip"
    if z.is_file():
        return _extract_csvs(z.read_bytes(), dest, ticker, level, str(z))
    raise FileNotFoundError(f"{src} holds no {ticker} level-{level} sample (message + orderbook CSV, or {z.name})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", nargs="+", default=list(TICKERS), type=str.upper, help="default: %(default)s")
    ap.add_argument("--levels", nargs="+", default=[1], type=int, choices=LEVELS, help="default: 1")
    ap.add_argument("--from", dest="src", type=Path, default=None, help="copy from this folder instead of downloading")
    ap.add_argument("--dest", type=Path, default=None, help="target folder (default: $COMPANION_DATA/lobster)")
    ap.add_argument("--force", action="store_true", help="fetch again even when the files are present")
    args = ap.parse_args(argv)

    dest = args.dest if args.dest is not None else data_dir() / "lobster"
    dest.mkdir(parents=True, exist_ok=True)
    if args.src is not None and not args.src.is_dir():
        print(f"error: --from {args.src}: not a folder", file=sys.stderr)
        return 1
    failures = 0
    for ticker in args.tickers:
        for level in args.levels:
            label = f"{ticker} level {level}"
            if not args.force and _complete(_present(dest, ticker, level)):
                print(f"{label}: already in {dest}")
                continue
            try:
                if args.src is not None:
                    files = copy_one(ticker, level, args.src, dest)
                else:
                    files = fetch_one(ticker, level, dest)
            except ConnectionError as e:  # offline: the other downloads would fail the same way
                print(f"error: {label}: {e}", file=sys.stderr)
                return 1
            except (FileNotFoundError, RuntimeError) as e:
                print(f"error: {label}: {e}", file=sys.stderr)
                failures += 1
                continue
            print(f"{label}: " + ", ".join(f.name for f in files) + f" -> {dest}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue #13: move service/ from layers of files (domain/, routers/, reports/, cli/) to one package per area.

Run at the root of a checkout, after the security work is merged:

    python scripts/restructure.py            # move with git mv, rewrite imports, sort them with ruff
    python scripts/restructure.py --dry-run  # say what would happen, change nothing

What it does, in order:

1. ``git mv`` every module named in MOVES (old dotted name -> new dotted name) and every test
   directory in TEST_PACKAGES; creates the new area packages with the docstrings in NEW_PACKAGES.
2. Rewrites every reference to a moved module in service/, tests/, bench/, migrations/, scripts/,
   docs/ and the root files: ``from service.domain.x import y``, ``import service.domain.x``,
   ``from service.domain import x, z`` (split per target package, bound to the same local names),
   dotted strings (``"service.domain.plan_register:load_bundled_plans"``, ROUTER_MODULES, mock
   targets) and ``service/domain/x.py`` paths in comments and documents.
3. Sorts the rewritten imports (``ruff check --select I --fix``) and retires an old package
   (``service/domain/__init__.py`` ...) once nothing else is left in it.

Modules it does not know (added after this table was written, e.g. by the security work) are LEFT
WHERE THEY ARE and listed with a suggested place: a person adds them to MOVES and runs the script
again.  Their imports of moved modules are rewritten all the same, so the tree keeps working.

Idempotent: a module already at its new place is skipped, a second run changes nothing.  Only moves:
the use-case modules, the one database handle and the drawing kit are follow-up work
(docs/architecture.md, docs/decisions/0100-areas-and-one-session-handle.md).
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

# --- the mapping table ---------------------------------------------------------------------------
# old dotted module -> new dotted module.  Every module stays two levels below the root
# (service/<area>/<module>.py), so ``Path(__file__).parents[n]`` keeps pointing where it did.
MOVES: dict[str, str] = {
    # common: what every area uses (Chinese CRS, Chinese text, spreadsheets, uploads, audit, ETags)
    "service.domain.audit": "service.common.audit",
    "service.domain.chinese_crs": "service.common.chinese_crs",
    "service.domain.plan_text": "service.common.chinese_text",
    "service.domain.row_errors": "service.common.spreadsheets",
    "service.domain.upload_safety": "service.common.upload_safety",
    "service.domain.concurrency": "service.common.concurrency",
    "service.domain.signed_links": "service.common.signed_links",
    "service.domain.geometry_guard": "service.common.geometry_guard",
    "service.domain.crs_area": "service.common.crs_area",
    "service.domain.spreadsheet_safety": "service.common.spreadsheet_safety",
    "service.domain.strict_numbers": "service.common.strict_numbers",
    # projects: the register, plan import, locations set by a person
    "service.domain.plan_parser": "service.projects.parser",
    "service.domain.plan_register": "service.projects.register",
    "service.domain.plan_import": "service.projects.importer",
    "service.domain.plan_queries": "service.projects.queries",
    "service.domain.plan_locations": "service.projects.locations",
    "service.routers.projects": "service.projects.routes",
    "service.cli.plans": "service.projects.cli",
    # geocoding: gazetteer, matcher, resolver, batch
    "service.domain.geocoding_batch": "service.geocoding.batch",
    "service.domain.geocoding_gazetteer": "service.geocoding.gazetteer",
    "service.domain.geocoding_matcher": "service.geocoding.matcher",
    "service.domain.geocoding_resolver": "service.geocoding.resolver",
    "service.domain.geocoding_service": "service.geocoding.text_lookup",
    "service.routers.geocode": "service.geocoding.routes",
    "service.cli.geocode": "service.geocoding.cli",
    # layers: catalogue, loading (bundled and uploaded), history, re-derivation
    "service.catalogue": "service.layers.catalogue",
    "service.domain.bundled_layers": "service.layers.bundled",
    "service.domain.layer_catalogue": "service.layers.listing",
    "service.domain.layer_files": "service.layers.files",
    "service.domain.layer_history": "service.layers.history",
    "service.domain.layer_load": "service.layers.loader",
    "service.domain.layer_mapping": "service.layers.mapping",
    "service.domain.layer_rederive": "service.layers.rederive",
    "service.routers.layers": "service.layers.routes",
    "service.cli.layers": "service.layers.cli",
    # progress: reports, the derived state and its delay rules, stats, demo history
    "service.domain.progress": "service.progress.reports",
    "service.domain.progress_import": "service.progress.importer",
    "service.domain.progress_input": "service.progress.report_input",
    "service.domain.progress_state": "service.progress.state",
    "service.domain.stats": "service.progress.stats",
    "service.domain.demo_progress": "service.progress.demo",
    "service.routers.progress": "service.progress.routes",
    "service.cli.progress": "service.progress.cli",
    # screening: input, zones (PostGIS), rules, the verdict, records, batch, reports
    "service.domain.screening": "service.screening.verdict",
    "service.domain.screening_batch": "service.screening.batch",
    "service.domain.screening_input": "service.screening.site_input",
    "service.domain.screening_query": "service.screening.zones",
    "service.domain.screening_records": "service.screening.records",
    "service.domain.screening_rules": "service.screening.rules",
    "service.routers.screening": "service.screening.routes",
    "service.cli.screen": "service.screening.cli",
    "service.reports": "service.screening.reports",
    "service.reports.csv_report": "service.screening.report_csv",
    "service.reports.html_report": "service.screening.report_html",
    "service.reports.pdf_report": "service.screening.report_pdf",
    "service.reports.table": "service.screening.report_table",
    "service.reports.figures": "service.screening.report_figures",
    "service.reports.web_map": "service.screening.web_map",
    # ogc: the package stays; its routes join it
    "service.routers.ogc": "service.ogc.routes",
    "service.routers.ogc_downloads": "service.ogc.routes_downloads",
    "service.routers.ogc_tiles": "service.ogc.routes_tiles",
    # maps: the web maps, their data, the wall map; the browser tooling leaves the runtime package
    "service.routers.maps": "service.maps.routes",
    "service.maps.headless": "tests.browser.headless",
    "service.maps.screenshots": "tests.browser.screenshots",
    # accounts: users, tokens and the audit log (admins); system: health and the database commands
    "service.routers.admin": "service.accounts.routes",
    "service.cli.users": "service.accounts.cli",
    "service.routers.health": "service.system.routes",
    "service.cli.db": "service.system.cli",
    "service.privileges": "service.system.privileges",
}

# Modules that are already where they belong (listed so that they are not reported as unplaced).
STAYS: set[str] = {
    "service.cli.main",
    "service.cli.database_down",
    "service.rate_limits",
    "service.db_roles",
    "service.response_policy",
    *(f"service.ogc.{m}" for m in ["cql", "crs", "documents", "downloads", "features", "filewriter", "links"]),
    *(f"service.ogc.{m}" for m in ["negotiate", "query", "registry", "sqlparams", "tiles"]),
    *(f"service.maps.{m}" for m in ["data", "offline", "pages", "printable"]),
    *(f"service.{m}" for m in ["app", "assets", "data_version", "database", "dependencies", "errors", "middleware"]),
    *(f"service.{m}" for m in ["migrate", "pgcluster", "response_cache", "routing", "security", "settings", "setup"]),
}

# Test directories move whole (their conftest.py and helpers with them), old -> new.
TEST_PACKAGES: dict[str, str] = {
    "tests.plans": "tests.projects",
    "tests.geocoder": "tests.geocoding",
    "tests.geodata": "tests.layers",
}
TEST_PACKAGES_STAY = {"tests.foundation", "tests.maps", "tests.ogc", "tests.progress", "tests.screening", "tests.trust"}

# New packages and the first line of their __init__.py.
NEW_PACKAGES: dict[str, str] = {
    "service/common": "Shared pieces every area may use: Chinese CRS and text, spreadsheets, upload safety, audit.",
    "service/projects": "Projects: the register (plans parsed and imported), locations set by a person, queries.",
    "service/geocoding": "Geocoding: the gazetteer, the matcher, the resolver and batch geocoding of projects.",
    "service/layers": "Layers: the catalogue, loading bundled and uploaded files, load history, re-derivation.",
    "service/progress": "Progress: monthly reports, each project's derived state (the delay rules), stats, demo data.",
    "service/screening": "Screening: the site input, the zones it touches, the rules, the verdict, records, reports.",
    "service/accounts": "Accounts: users, bearer tokens and the audit log, for admins.",
    "service/system": "System: the health check and the database commands.",
    "tests/browser": "Browser tooling outside the runtime package: headless Chromium for tests, bench, screenshots.",
}

# Directories scanned for modules this table does not know.
SCANNED_DIRS = ("service", "service/domain", "service/routers", "service/reports", "service/cli", "service/maps",
                "service/ogc")  # fmt: skip
# Where references are rewritten; files named in NOT_REWRITTEN keep the old names on purpose.
REWRITE_DIRS = ("service", "tests", "bench", "migrations", "scripts", "docs", "geodata", "layers")
REWRITE_ROOT_FILES = ("pyproject.toml", "Makefile", "Dockerfile", "README.md", "alembic.ini", "docker-compose.yml")
REWRITE_SUFFIXES = {".py", ".md", ".toml", ".ini", ".cfg", ".mako", ".txt", ".yml", ".yaml", ".sh"}
NOT_REWRITTEN = {
    "scripts/restructure.py",
    "docs/architecture.md",
    "docs/decisions/0100-areas-and-one-session-handle.md",
    "tests/foundation/test_boundaries.py",
    ".importlinter",
}
# Where an unknown module probably goes, by its name's prefix (a suggestion only; nothing is moved).
SUGGEST = {
    "screening": "service.screening",
    "plan": "service.projects",
    "geocoding": "service.geocoding",
    "layer": "service.layers",
    "progress": "service.progress",
    "ogc": "service.ogc",
    "map": "service.maps",
    "upload": "service.common",
    "spreadsheet": "service.common",
    "geometry": "service.common",
    "ratelimit": "service (infrastructure beside middleware.py) or service.common",
}

# --------------------------------------------------------------------------------------------------

TOKEN = re.compile(r"(?<![\w.])((?:service|tests)(?:\.[A-Za-z_]\w*)+)")
FROM_LINE = re.compile(r"^([ \t]*)from ([\w.]+) import ([\w ,]+?)([ \t]*(?:#.*)?)$", re.MULTILINE)
PATH_TOKEN = re.compile(r"(?<![\w./-])((?:service|tests)(?:/[A-Za-z_]\w*)+)\.py\b")


class Mapping:
    """Old dotted names -> new, resolved by the longest matching prefix of whole segments."""

    def __init__(self, modules: dict[str, str], packages: dict[str, str]) -> None:
        self.modules = dict(modules)
        self.packages = dict(packages)
        self.table = {**packages, **modules}
        moved_new = {new for old, new in self.table.items() if old != new}
        for new in moved_new:  # a second run must find nothing to do: no new name may be an old one
            parts = new.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in self.table and self.table[prefix] != prefix:
                    raise SystemExit(f"mapping error: new name {new} starts with old name {prefix}")

    def resolve(self, dotted: str) -> str:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in self.table:
                return ".".join([self.table[prefix], *parts[i:]])
        return dotted

    def is_moved_module(self, dotted: str) -> bool:
        return self.resolve(dotted) != dotted and (dotted in self.table or self._under_package(dotted))

    def _under_package(self, dotted: str) -> bool:
        return any(dotted.startswith(p + ".") for p in self.packages)


def module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def sh(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=root, text=True, capture_output=True, check=False)


class Restructure:
    def __init__(self, root: Path, dry_run: bool, ruff: Path | None = None) -> None:
        self.root = root
        self.dry = dry_run
        self.ruff = ruff
        self.mapping = Mapping(MOVES, TEST_PACKAGES)
        self.moved: list[str] = []
        self.skipped: list[str] = []
        self.warnings: list[str] = []
        self.rewritten: dict[str, int] = {}

    def say(self, text: str) -> None:
        print(text, flush=True)

    # --- 1. moves ---------------------------------------------------------------------------------
    def git_mv(self, src: Path, dst: Path) -> None:
        rel_src, rel_dst = src.relative_to(self.root), dst.relative_to(self.root)
        self.moved.append(f"{rel_src} -> {rel_dst}")
        if self.dry:
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        done = sh(["git", "mv", str(rel_src), str(rel_dst)], self.root)
        if done.returncode != 0:  # not tracked (a file added but not committed): move it and add it
            src.rename(dst)
            sh(["git", "add", str(rel_dst)], self.root)

    def create_packages(self) -> None:
        for folder, doc in NEW_PACKAGES.items():
            init = self.root / folder / "__init__.py"
            if init.exists():
                continue
            self.moved.append(f"new package {folder}/__init__.py")
            if not self.dry:
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text(f'"""{doc}"""\n', encoding="utf-8")
                sh(["git", "add", str(init.relative_to(self.root))], self.root)

    def move_modules(self) -> None:
        for old, new in MOVES.items():
            src = module_file(self.root, old)
            dst = self.root.joinpath(*new.split(".")).with_suffix(".py")
            if src is None:
                if dst.exists():
                    self.skipped.append(f"{old}: already at {dst.relative_to(self.root)}")
                else:
                    self.warnings.append(f"{old}: not found (removed since the table was written?); nothing moved")
                continue
            if dst.exists():
                self.warnings.append(f"{old}: both {src.relative_to(self.root)} and {dst.relative_to(self.root)} "
                                     "exist; left both, merge by hand")  # fmt: skip
                continue
            old_depth, new_depth = len(src.relative_to(self.root).parts), len(dst.relative_to(self.root).parts)
            if src.name == "__init__.py":
                old_depth -= 1
            if old_depth != new_depth and "__file__" in src.read_text(encoding="utf-8"):
                self.warnings.append(f"{old} -> {new}: uses __file__ and changes depth; check its paths")
            self.git_mv(src, dst)

    def move_test_packages(self) -> None:
        for old, new in TEST_PACKAGES.items():
            src = self.root.joinpath(*old.split("."))
            dst = self.root.joinpath(*new.split("."))
            if not src.exists():
                if dst.exists():
                    self.skipped.append(f"{old}: already at {dst.relative_to(self.root)}")
                else:
                    self.warnings.append(f"{old}: not found; nothing moved")
                continue
            if not dst.exists():
                self.git_mv(src, dst)
                continue
            for path in sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                target = dst / path.relative_to(src)
                if target.exists():
                    self.warnings.append(f"{path.relative_to(self.root)}: {target.relative_to(self.root)} exists")
                else:
                    self.git_mv(path, target)

    def retire_old_packages(self) -> None:
        """Remove an old package's __init__.py once no module is left beside it; keep it otherwise."""
        for folder in ("service/domain", "service/routers", "service/reports", "service/cli", "service/maps"):
            path = self.root / folder
            if not path.is_dir():
                continue
            modules = [p for p in path.glob("*.py") if p.name != "__init__.py"]
            init = path / "__init__.py"
            if modules and not init.exists():  # e.g. service/reports/__init__.py moved, a newcomer stayed
                self.warnings.append(f"{folder}: __init__.py moved away but {len(modules)} module(s) stayed; "
                                     "wrote a placeholder __init__.py")  # fmt: skip
                if not self.dry:
                    init.write_text('"""Left by scripts/restructure.py: place these modules (see MOVES)."""\n')
                    sh(["git", "add", str(init.relative_to(self.root))], self.root)
            elif not modules:
                if init.exists():
                    self.moved.append(f"retired {folder}/ (git rm {folder}/__init__.py)")
                if not self.dry:
                    if init.exists():
                        sh(["git", "rm", "-q", str(init.relative_to(self.root))], self.root)
                    shutil.rmtree(path / "__pycache__", ignore_errors=True)
                    if path.is_dir() and not any(path.iterdir()):
                        path.rmdir()

    def unplaced(self) -> list[tuple[str, str]]:
        known = set(MOVES) | set(MOVES.values()) | STAYS
        found: list[tuple[str, str]] = []
        for folder in SCANNED_DIRS:
            for path in sorted((self.root / folder).glob("*.py")):
                if path.name == "__init__.py":
                    continue
                dotted = ".".join(path.relative_to(self.root).with_suffix("").parts)
                if dotted not in known:
                    found.append((dotted, self._suggest(path.stem)))
        for path in sorted((self.root / "tests").glob("*/__init__.py")):
            dotted = f"tests.{path.parent.name}"
            if dotted not in {*TEST_PACKAGES, *TEST_PACKAGES_STAY, *TEST_PACKAGES.values()}:
                found.append((dotted, "a new test directory: keep it or add it to TEST_PACKAGES"))
        return found

    @staticmethod
    def _suggest(stem: str) -> str:
        for prefix, area in SUGGEST.items():
            if stem.startswith(prefix):
                return f"probably {area}"
        return "no guess: place it by hand"

    # --- 2. references ----------------------------------------------------------------------------
    def files_to_rewrite(self) -> list[Path]:
        files: list[Path] = [self.root / f for f in REWRITE_ROOT_FILES if (self.root / f).is_file()]
        for folder in REWRITE_DIRS:
            base = self.root / folder
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                parts = set(path.relative_to(self.root).parts)
                if parts & {"__pycache__", "static", "vendor", "node_modules", "out", "screenshots"}:
                    continue
                if path.is_file() and path.suffix in REWRITE_SUFFIXES:
                    files.append(path)
        return [p for p in files if str(p.relative_to(self.root)) not in NOT_REWRITTEN]

    def split_from_imports(self, source: str, rel: str) -> tuple[str, int]:
        """``from service.domain import audit, concurrency`` -> one ``from <new package> import ...`` each."""
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            self.warnings.append(f"{rel}: not parsed ({exc}); only dotted names rewritten")
            return source, 0
        lines = source.splitlines(keepends=True)
        edits: list[tuple[int, int, list[str]]] = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
                continue
            package = node.module
            if self.mapping.resolve(package) != package:
                continue  # the package itself moved: the dotted-name pass rewrites it whole
            moved = [a for a in node.names if self.mapping.is_moved_module(f"{package}.{a.name}")]
            if not moved:
                continue
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            head, tail = lines[first][: node.col_offset], lines[last][node.end_col_offset :]
            if head.strip() or (tail.strip() and not tail.strip().startswith("#")):
                self.warnings.append(f"{rel}:{node.lineno}: import shares its line with other code; fix by hand")
                continue
            comment = f"  {tail.strip()}" if tail.strip() else ""
            if last > first and any("#" in line for line in lines[first:last]):
                self.warnings.append(f"{rel}:{node.lineno}: comments inside a split import were dropped")
            groups = self._regroup(package, [(a.name, a.asname) for a in node.names])
            new_lines = [f"{head}from {p} import {', '.join(names)}{comment}\n" for p, names in groups.items()]
            edits.append((first, last, new_lines))
        for first, last, new_lines in sorted(edits, reverse=True):
            lines[first : last + 1] = new_lines
        return "".join(lines), len(edits)

    def _regroup(self, package: str, names: list[tuple[str, str | None]]) -> dict[str, list[str]]:
        """The names of one ``from package import ...`` grouped by the package each now lives in."""
        groups: dict[str, list[str]] = {}
        for name, asname in names:
            bound = asname or name
            full = f"{package}.{name}"
            if self.mapping.is_moved_module(full):
                parent, _, new_name = self.mapping.resolve(full).rpartition(".")
            else:
                parent, new_name = package, name
            groups.setdefault(parent, []).append(new_name if new_name == bound else f"{new_name} as {bound}")
        return groups

    def split_from_lines(self, text: str) -> tuple[str, int]:
        """The same split for one-line imports quoted in documents (``from service.domain import x``)."""
        count = 0

        def split(match: re.Match[str]) -> str:
            nonlocal count
            head, package, names, tail = match.groups()
            if self.mapping.resolve(package) != package:
                return match.group(0)
            pairs = []
            for item in names.split(","):
                name, _, asname = (part.strip() for part in item.partition(" as "))
                pairs.append((name, asname or None))
            if not any(self.mapping.is_moved_module(f"{package}.{n}") for n, _ in pairs):
                return match.group(0)
            count += 1
            groups = self._regroup(package, pairs)
            return "\n".join(f"{head}from {p} import {', '.join(ns)}{tail}" for p, ns in groups.items())

        return FROM_LINE.sub(split, text), count

    def rewrite_text(self, text: str) -> tuple[str, int]:
        count = 0

        def dotted(match: re.Match[str]) -> str:
            nonlocal count
            name = match.group(1)
            new = self.mapping.resolve(name)
            if new != name:
                count += 1
            return new

        def path(match: re.Match[str]) -> str:
            nonlocal count
            name = match.group(1).replace("/", ".")
            is_init = name.endswith(".__init__")
            base = name.removesuffix(".__init__") if is_init else name
            new = self.mapping.resolve(base)
            if new == base:
                return match.group(0)
            count += 1
            return new.replace(".", "/") + ".py"

        text = TOKEN.sub(dotted, text)
        text = PATH_TOKEN.sub(path, text)
        return text, count

    def rewrite_references(self) -> list[Path]:
        changed: list[Path] = []
        for path in self.files_to_rewrite():
            rel = str(path.relative_to(self.root))
            try:
                before = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if path.suffix == ".py":
                after, splits = self.split_from_imports(before, rel)
            else:
                after, splits = self.split_from_lines(before)
            after, names = self.rewrite_text(after)
            if after != before:
                self.rewritten[rel] = splits + names
                changed.append(path)
                if not self.dry:
                    path.write_text(after, encoding="utf-8")
        return changed

    def leftovers(self) -> list[str]:
        """References to the retired packages that no rule could rewrite (e.g. prose naming service.domain)."""
        old = re.compile(r"(?<![\w.])service[./](domain|routers|reports)\b")
        found = []
        for path in self.files_to_rewrite():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for n, line in enumerate(text.splitlines(), start=1):
                if old.search(line):
                    found.append(f"{path.relative_to(self.root)}:{n}: {line.strip()[:110]}")
        return found

    # --- 3. tidy ----------------------------------------------------------------------------------
    def sort_imports(self, changed: list[Path]) -> None:
        python = [str(p.relative_to(self.root)) for p in changed if p.suffix == ".py"]
        if not python or self.dry:
            return
        here = Path(sys.executable).parent / "ruff"
        candidates = [self.ruff, self.root / ".venv/bin/ruff", here, shutil.which("ruff")]
        ruff = next((str(c) for c in candidates if c and Path(c).is_file()), None)
        if ruff is None:
            self.warnings.append("ruff not found (--ruff PATH): imports unsorted; run ruff check --select I --fix .")
            return
        done = sh([ruff, "check", "--select", "I", "--fix", "--quiet", *python], self.root)
        if done.returncode != 0:
            self.warnings.append(f"ruff --select I: {done.stdout.strip() or done.stderr.strip()}")

    def run(self) -> int:
        if not (self.root / ".git").exists() or not (self.root / "service").is_dir():
            print("run this at the root of a xiangmap checkout", file=sys.stderr)
            return 2
        unplaced = self.unplaced()
        self.create_packages()
        self.move_modules()
        self.move_test_packages()
        changed = self.rewrite_references()
        self.retire_old_packages()
        self.sort_imports(changed)
        verb = "would be" if self.dry else "were"
        self.say(f"== moves ({len(self.moved)} {verb} made)")
        for line in self.moved:
            self.say(f"  {line}")
        if self.skipped:
            self.say(f"== already done ({len(self.skipped)})")
            for line in self.skipped:
                self.say(f"  {line}")
        self.say(f"== references rewritten in {len(self.rewritten)} files")
        for rel, n in sorted(self.rewritten.items()):
            self.say(f"  {rel}: {n}")
        if unplaced:
            self.say(f"== UNPLACED modules ({len(unplaced)}): left where they are, imports rewritten; add to MOVES")
            for dotted, hint in unplaced:
                self.say(f"  {dotted}: {hint}")
        rest = self.leftovers() if not self.dry else []
        if rest:
            self.say(f"== references to the old packages left as they are ({len(rest)}): read them")
            for line in rest:
                self.say(f"  {line}")
        if self.warnings:
            self.say(f"== warnings ({len(self.warnings)})")
            for line in self.warnings:
                self.say(f"  {line}")
        if not self.moved and not self.rewritten:
            self.say("nothing to do: the tree is already in the area layout")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the checkout (default: here)")
    parser.add_argument("--ruff", type=Path, help="ruff to sort the rewritten imports (default: .venv/bin/ruff, PATH)")
    args = parser.parse_args(argv)
    return Restructure(args.root.resolve(), args.dry_run, args.ruff).run()


if __name__ == "__main__":
    sys.exit(main())

"""MkDocs hooks for the documentation site (``mkdocs build --strict``, see ``mkdocs.yml``).

Three things the site needs that plain Markdown files cannot give:

* **The API reference is generated from ``__all__``.**  Each subpackage's page lists every
  public name of that subpackage, grouped by the module that defines it, as a mkdocstrings
  ``::: dotted.path`` entry.  The names are read from the source (``__all__``, or the lazy
  ``_PUBLIC`` map behind it; for ``models`` and ``training``, which export nothing at the
  package level, the top-level package's map), so a name added to ``__all__`` appears in
  the reference without anyone editing a page.  ``tests/test_docs.py`` holds these lists
  to the packages' runtime ``__all__`` and every entry to a docstring.
* **The notebooks are rendered as stored**, never executed: a copy of each notebook gets a
  first cell naming its source and, after cells that show a widget, a still image of it
  where one exists (the notebooks store no widget state), else a line saying so.
* **Sphinx roles** (``:func:`x```) in docstrings are shown as plain code.

Nothing here imports the package or TensorFlow: the build needs only the ``[docs]`` extra.
"""
import ast
import json
import re
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "psychrnn_widgets"
SUBPACKAGES = ("tasks", "models", "training", "simulation", "io", "analysis", "sweeps", "widgets")
NOTEBOOKS = ROOT / "notebooks"

# ----------------------------------------------------------------------------- public names


def _module_ast(dotted):
    path = ROOT / Path(*dotted.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _literal_assignments(tree):
    """``{name: value}`` for the module-level ``name = <literal>`` (and ``name = sorted(other)``)."""
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("sorted", "list")
                    and len(value.args) == 1 and isinstance(value.args[0], ast.Name)):
                names = list(values.get(value.args[0].id, ()))
                values[name] = sorted(names) if value.func.id == "sorted" else names
                continue
            if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
                try:
                    left = _evaluate(value.left, values)
                    values[name] = list(left) + list(ast.literal_eval(value.right))
                except (ValueError, TypeError):
                    pass
                continue
            try:
                values[name] = ast.literal_eval(value)
            except ValueError:
                pass
    return values


def _evaluate(node, values):
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("sorted", "list"):
        return sorted(_evaluate(node.args[0], values))
    return ast.literal_eval(node)


def _imports(tree, package):
    """``{name: defining module}`` for the ``from X import name`` lines of ``package``'s ``__init__``."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                found[alias.asname or alias.name] = module
    return found


def top_level_map():
    """The top-level package's ``{public name: defining module}`` (its lazy ``_PUBLIC``)."""
    return dict(_literal_assignments(_module_ast(PACKAGE))["_PUBLIC"])


def public_names(subpackage):
    """The public names of ``psychrnn_widgets.<subpackage>``, read from its source, in its order.

    ``__all__`` where the package defines one (a literal list, or ``sorted(_PUBLIC)``);
    otherwise the names the top-level package exports from modules of this subpackage.
    """
    dotted = f"{PACKAGE}.{subpackage}"
    values = _literal_assignments(_module_ast(dotted))
    if "__all__" in values:
        return list(values["__all__"])
    return [name for name, module in top_level_map().items() if module.startswith(dotted + ".")]


def reference_targets(subpackage):
    """``{public name: dotted path of its definition}`` for ``psychrnn_widgets.<subpackage>``."""
    dotted = f"{PACKAGE}.{subpackage}"
    tree = _module_ast(dotted)
    lazy = dict(_literal_assignments(tree).get("_PUBLIC", {}))
    lazy.update({k: v for k, v in top_level_map().items() if k not in lazy})
    imported = _imports(tree, dotted)
    targets = {}
    for name in public_names(subpackage):
        if name in imported:
            module = imported[name]
        elif name in lazy and name not in _defined_names(tree):
            module = lazy[name]
        else:
            module = dotted
        targets[name] = _final_module(module, name)
    return targets


def _defined_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _final_module(module, name, depth=0):
    """Follow ``from X import name`` re-exports to the module that defines ``name``."""
    if depth > 5:
        return f"{module}.{name}"
    try:
        tree = _module_ast(module)
    except (FileNotFoundError, SyntaxError):
        return f"{module}.{name}"
    if name in _defined_names(tree):
        return f"{module}.{name}"
    is_package = (ROOT / Path(*module.split("."))).is_dir()
    imported = _imports(tree, module if is_package else module.rsplit(".", 1)[0])
    if name in imported:
        return _final_module(imported[name], name, depth + 1)
    return f"{module}.{name}"


def home_subpackage(target):
    """The subpackage whose page documents ``target`` (None: the top-level page)."""
    parts = target.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in SUBPACKAGES else None


def top_level_only():
    """Top-level public names defined outside every subpackage (catalog, errors, threads)."""
    return {name: f"{module}.{name}" for name, module in top_level_map().items()
            if home_subpackage(f"{module}.{name}") is None}


def _entry(target, level=3):
    return f"::: {target}\n    options:\n      heading_level: {level}\n"


def _module_title(module):
    return f"`{module.split('.', 1)[1]}`" if "." in module else f"`{module}`"


def api_page(subpackage):
    """The Markdown of ``api/<subpackage>.md``: one mkdocstrings entry per public name."""
    dotted = f"{PACKAGE}.{subpackage}"
    targets = reference_targets(subpackage)
    if "__all__" in _literal_assignments(_module_ast(dotted)):
        source = (f"Generated from `{dotted}.__all__` ({len(targets)} public names): each is importable from "
                  f"`{dotted}` and from the module that defines it.\n")
    else:
        source = (f"Generated from the {len(targets)} names that `{PACKAGE}` exports from `{dotted}` (the "
                  f"subpackage exports nothing itself): each is importable from `{PACKAGE}` and from the "
                  f"module that defines it.\n")
    lines = [f"# `{dotted}`\n", source,
             f"::: {dotted}\n    options:\n      members: false\n      show_root_heading: false\n"
             "      show_root_toc_entry: false\n"]
    elsewhere = {name: t for name, t in targets.items() if home_subpackage(t) != subpackage}
    by_module = {}
    for name, target in targets.items():
        if name not in elsewhere:
            by_module.setdefault(target.rsplit(".", 1)[0], []).append(target)
    for module, entries in by_module.items():
        lines.append(f"## {_module_title(module)}\n")
        lines.extend(_entry(target) for target in entries)
    if elsewhere:
        lines.append("## Re-exported from other layers\n")
        for name, target in elsewhere.items():
            lines.append(f"- [`{name}`][{target}]: defined in `{target.rsplit('.', 1)[0]}`")
        lines.append("")
    return "\n".join(lines)


def top_level_page():
    """``api/psychrnn_widgets.md``: the top-level names, those defined outside the subpackages in full."""
    everything = top_level_map()
    own = top_level_only()
    lines = ["# `psychrnn_widgets`\n",
             "The top-level package resolves every public name lazily (importing it is cheap). "
             "The names defined in a subpackage are documented on that subpackage's page; "
             "the rest are documented here.\n",
             "| name | documented in |", "|---|---|"]
    for name, module in sorted(everything.items()):
        target = f"{module}.{name}"
        sub = home_subpackage(target)
        where = f"[`{PACKAGE}.{sub}`]({sub}.md)" if sub else "this page"
        lines.append(f"| [`{name}`][{target}] | {where} |")
    lines.append("")
    by_module = {}
    for target in own.values():
        by_module.setdefault(target.rsplit(".", 1)[0], []).append(target)
    for module, entries in by_module.items():
        lines.append(f"## {_module_title(module)}\n")
        lines.extend(_entry(target) for target in entries)
    return "\n".join(lines)


#: site page -> Markdown file of the repository shown there unchanged (after a line naming it)
MIRRORS = {
    "benchmarks/results.md": "benchmarks/RESULTS.md",
    "benchmarks/task-library.md": "benchmarks/TASK_LIBRARY.md",
    "benchmarks/notes.md": "benchmarks/README.md",
}


def mirror_page(source):
    text = (ROOT / source).read_text(encoding="utf-8")
    return (f"*This page is `{source}` as committed, shown unchanged; the scripts in `benchmarks/` "
            f"write it (see [Benchmarks](../benchmarks.md)).*\n\n" + text)


def api_pages():
    """``{docs path: Markdown}`` of every generated API page."""
    pages = {f"api/{sub}.md": api_page(sub) for sub in SUBPACKAGES}
    pages["api/psychrnn_widgets.md"] = top_level_page()
    return pages


# ----------------------------------------------------------------------------- notebooks

#: the widget a notebook cell shows (its last line; "notebook.ipynb:name" for one notebook only)
#: -> a still image under docs/ (the browser tests take them) and its caption
WIDGET_IMAGES = {
    "classroom.ipynb:classroom": ("classroom_voila_1280x720.png", "A still of the Classroom in Voilà at 1280×720 "
                                                                  "after Train with the easy preset. When the "
                                                                  "notebook runs, this cell shows the app live."),
    "compare.ipynb:tab": ("compare_1280x720.png", "A still of this cell's Compare panel in JupyterLab 4 at "
                                                  "1280×720, taken by the browser test. When the notebook runs, "
                                                  "this cell shows the panel live."),
    "lab": ("lab_1280x720.png", "A still of the Lab: the quickstart's, in JupyterLab 4 at 1280×720 after Start "
                                "and Stop, taken by the browser test. When the notebook runs, this cell shows the "
                                "Lab live."),
}
_DISPLAY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\s*#.*)?$|^(Lab|Classroom)\(.*\)\s*(#.*)?$")


def _shown_name(cell):
    source = "".join(cell.get("source", "")).rstrip().splitlines()
    if not source:
        return None
    match = _DISPLAY.match(source[-1])
    if match is None:
        return None
    return (match.group(1) or match.group(3)).lower()


def _markdown_cell(text):
    _markdown_cell.count += 1
    return {"cell_type": "markdown", "id": f"docs-site-{_markdown_cell.count}", "metadata": {}, "source": text}


_markdown_cell.count = 0


def notebook_for_site(path):
    """The notebook at ``path`` as the site shows it: a note on its source first, stills for widgets."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    name = Path(path).name
    cells = [_markdown_cell(
        f"> Rendered from `notebooks/{name}` with the outputs stored in it (text only: the notebooks "
        f"store neither figures nor widget state) — it is not executed for this site. "
        f"[Download the notebook]({name}) and open it with `jupyter lab notebooks/{name}` to run it.")]
    for cell in notebook["cells"]:
        cells.append(cell)
        visual = any(key.startswith("image/") or key == "text/html"
                     for output in cell.get("outputs", ()) for key in output.get("data", {}))
        if cell["cell_type"] != "code" or visual:  # text outputs only: the figure or widget is not stored
            continue
        shown = _shown_name(cell)
        still = WIDGET_IMAGES.get(f"{name}:{shown}") or WIDGET_IMAGES.get(shown)
        if still:
            image, caption = still
            cells.append(_markdown_cell(f"![{caption}](../../{image})\n\n*{caption}*"))
        elif shown is not None:
            cells.append(_markdown_cell("*(Not stored in the notebook: a figure or an interactive widget "
                                        "appears here when the cell runs.)*"))
    notebook["cells"] = cells
    return notebook


# ----------------------------------------------------------------------------- MkDocs hooks

_state = {}


def notebook_title(path):
    """The notebook's first Markdown heading, else its file name."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(path).stem


def _notebook_nav(section):
    """The Notebooks section of the nav: its pages as listed, then every other notebook of ``notebooks/``."""
    listed = {next(iter(item.values())) if isinstance(item, dict) else item for item in section}
    extra = [{notebook_title(path): f"notebooks/{path.name}"} for path in sorted(NOTEBOOKS.glob("*.ipynb"))
             if f"notebooks/{path.name}" not in listed]
    present = [item for item in section
               if not (isinstance(item, dict) and str(next(iter(item.values()))).endswith(".ipynb")
                       and not (ROOT / next(iter(item.values()))).is_file())]
    return present + extra


def _nav_pages(nav):
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            yield from _nav_pages(value)
        else:
            yield value


def on_config(config):
    _state["notebooks"] = Path(tempfile.mkdtemp(prefix="psychrnn-widgets-docs-"))
    nav = config["nav"] or []
    for item in nav:
        if isinstance(item, dict) and "Notebooks" in item:  # a notebook added to notebooks/ joins the nav
            item["Notebooks"] = _notebook_nav(item["Notebooks"])
    # a guide added to docs/ without a nav entry joins it under "More" (links in it are still checked)
    docs = Path(config["docs_dir"])
    listed = set(_nav_pages(nav))
    unlisted = [path.relative_to(docs).as_posix() for path in sorted(docs.rglob("*.md"))
                if path.relative_to(docs).as_posix() not in listed and path.name != "README.md"]
    if unlisted:
        nav.append({"More": unlisted})
    return config


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != "notebooks/index.md":
        return markdown
    missing = [path for path in sorted(NOTEBOOKS.glob("*.ipynb")) if f"]({path.name})" not in markdown]
    if missing:
        markdown += "\n\nAlso in `notebooks/`, not yet described above:\n\n" + "\n".join(
            f"- [{notebook_title(path)}]({path.name})" for path in missing) + "\n"
    return markdown


def _priority(value):
    def mark(function):
        function.mkdocs_priority = value
        return function
    return mark


@_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files, config):
    from mkdocs.structure.files import File

    for path, content in api_pages().items():
        files.append(File.generated(config, path, content=content))
    for path, source in MIRRORS.items():
        files.append(File.generated(config, path, content=mirror_page(source)))
    folder = _state["notebooks"] / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        (folder / source.name).write_text(json.dumps(notebook_for_site(source), indent=1), encoding="utf-8")
        files.append(File(f"notebooks/{source.name}", src_dir=str(_state["notebooks"]), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):(<code>)~?")


def on_page_content(html, page, config, files):
    return _ROLE.sub(r"\1", html)


def on_post_build(config):
    site = Path(config["site_dir"])
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):  # the notebook as committed, next to its page
        target = site / "notebooks" / source.stem / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    shutil.rmtree(_state.pop("notebooks", ""), ignore_errors=True)


# ----------------------------------------------------------------------------- docstrings (reST -> Markdown)

_ROLE_SOURCE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const|ref):`(~?[^`]+)`")
_BORDER = re.compile(r"^(\s*)(=+)((?:\s+=+)+)\s*$")


def _role(match):
    target = match.group(1)
    if "<" in target:  # :ref:`text <target>`
        target = target.split("<")[0].strip()
    if target.startswith("~"):
        target = target.rsplit(".", 1)[-1]
    return f"`{target.lstrip('.')}`"


def _columns(border):
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _table(lines, borders):
    """A reST simple table (``lines``, ``borders`` = indices of its border lines) as Markdown lines."""
    spans = _columns(lines[borders[0]])
    indent = _BORDER.match(lines[borders[0]]).group(1)

    def cells(line):
        out = []
        for k, (start, end) in enumerate(spans):
            stop = spans[k + 1][0] if k + 1 < len(spans) else len(line)
            out.append(line[start:stop].strip())
        return out

    def rows(chunk):
        found = []
        for line in chunk:
            if not line.strip():
                continue
            row = cells(line)
            if found and not row[0]:
                found[-1] = [f"{a} {b}".strip() for a, b in zip(found[-1], row)]
            else:
                found.append(row)
        return found

    if len(borders) >= 3:
        header = [" ".join(c) for c in zip(*rows(lines[borders[0] + 1:borders[1]]))] or [""] * len(spans)
        body = rows(lines[borders[1] + 1:borders[-1]])
    else:
        header, body = [""] * len(spans), rows(lines[borders[0] + 1:borders[-1]])
    out = [indent + "| " + " | ".join(header) + " |", indent + "|" + "---|" * len(spans)]
    out += [indent + "| " + " | ".join(row) + " |" for row in body]
    return out


def rest_to_markdown(text):
    """What a reST docstring needs to read well as Markdown: roles as code, simple tables, ``::`` blocks."""
    text = _ROLE_SOURCE.sub(_role, text)
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        if _BORDER.match(line):
            borders, j = [i], i + 1
            while j < len(lines) and len(borders) < 3:
                if _BORDER.match(lines[j]):
                    borders.append(j)
                    if j + 1 >= len(lines) or not lines[j + 1].strip() or len(borders) == 3:
                        break
                j += 1
            if len(borders) >= 2:
                if out and out[-1].strip():
                    out.append("")
                out.extend(_table(lines, borders))
                out.append("")
                i = borders[-1] + 1
                continue
        if line.lstrip().startswith(">>>"):  # a doctest block, up to the next blank line: Python console code
            indent = line[:len(line) - len(line.lstrip())]
            if out and out[-1].strip():
                out.append("")
            out.append(indent + "```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.extend([indent + "```", ""])
            continue
        if line.strip() and i + 1 < len(lines) and re.fullmatch(r"\s*(-{3,}|={3,})\s*", lines[i + 1]):
            line = line.replace("`", "")  # a heading: plain text (code in a heading garbles the table of contents)
        if line.rstrip().endswith("::") and not line.strip().startswith(">>>"):
            stripped = line.rstrip()[:-2].rstrip()
            line = stripped + ":" if stripped else ""
        out.append(line)
        i += 1
    return "\n".join(out)


try:
    import griffe as _griffe
except ImportError:  # the test imports this module without the [docs] extra too
    _griffe = None
else:
    class RestDocstrings(_griffe.Extension):
        """Griffe extension (``mkdocs.yml``): rewrite every docstring with :func:`rest_to_markdown`."""

        def on_instance(self, *, obj, **kwargs):
            if obj.docstring is None and obj.is_attribute:
                comment = attribute_comment(obj.filepath, obj.lineno)
                if comment:
                    obj.docstring = _griffe.Docstring(comment, lineno=obj.lineno, parent=obj)
            if obj.docstring is not None:
                obj.docstring.value = rest_to_markdown(obj.docstring.value)


def attribute_comment(path, lineno):
    """The ``#:`` comment lines right above line ``lineno`` of ``path`` (Sphinx's attribute docs), or ''."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, TypeError):
        return ""
    found, i = [], (lineno or 0) - 2
    while 0 <= i < len(lines) and lines[i].lstrip().startswith("#:"):
        found.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    return " ".join(found)

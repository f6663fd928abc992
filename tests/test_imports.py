"""bigbrain's modules import each other without circles.

A circle hidden by an import inside a function (module A imports B at the top, B imports A
when called) still ties the two modules together; the style guide asks for none. Read from
the source with ``ast``: module-level imports form a graph, and no import made inside a
function may lead back, through module-level imports, to the module that makes it.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "bigbrain"


def module_name(path):
    parts = ["bigbrain", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node, package):
    """Modules of bigbrain named by an import statement in ``package``."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("bigbrain")]
    if node.level == 0:
        return [node.module] if (node.module or "").startswith("bigbrain") else []
    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
    target = f"{base}.{node.module}" if node.module else base
    return [target] if node.module else [f"{target}.{a.name}" for a in node.names]


def import_graph():
    """({module: modules imported at its top}, [(module, line, module imported in a function)])."""
    top, inner = {}, []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        top[name] = set()
        tree = ast.parse(path.read_text())
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        in_function = {id(n) for f in functions for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported(node, package):
                    if id(node) in in_function:
                        inner.append((name, node.lineno, target))
                    else:
                        top[name].add(target)
    known = lambda m: m if m in top else (known(m.rsplit(".", 1)[0]) if "." in m else None)
    top = {m: {known(t) for t in ts} - {None, m} for m, ts in top.items()}
    return top, [(m, line, known(t)) for m, line, t in inner if known(t)]


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


def test_module_level_imports_have_no_circle():
    top, _ = import_graph()
    circles = [(m, t) for m in top for t in top[m] if m in reachable(top, t)]
    assert not circles, f"module-level import circles: {circles}"


def test_no_import_inside_a_function_hides_a_circle():
    top, inner = import_graph()
    hidden = [f"{m}:{line} imports {t}, which imports {m}" for m, line, t in inner
              if m in reachable(top, t)]
    assert not hidden, "\n".join(hidden)

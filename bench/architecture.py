"""The library's structure, measured from its files: import circles between its modules (imports inside functions
included), imports of another module's private names, the length of `fit_tune_report`, how many names
`from multilabel_nb.core import *` gives, and how long `import multilabel_nb.core` and `multilabel-nb --help` take.

    python bench/architecture.py [--repeat 5] [--label 'before']

Each import is timed in a fresh process, `--repeat` times; the table gives the median."""
import argparse, ast, statistics, subprocess, sys, time, shutil
from pathlib import Path
from _common import append_results, md_table, ROOT

PKG = ROOT/'multilabel_nb'

def modules():
    "{module name: parsed tree} for every module of the package but the generated index"
    return {p.stem: ast.parse(p.read_text()) for p in sorted(PKG.glob('*.py')) if p.stem not in ('_modidx', '__init__')}

def imports(tree, me):
    "(module imported, names imported) for each import of another module of the package in `tree`, at any depth"
    res = []
    for t in ast.walk(tree):
        if isinstance(t, ast.ImportFrom):
            mod = t.module or ''
            if t.level == 1: target = mod.split('.')[0] if mod else None
            elif mod.startswith('multilabel_nb.'): target = mod.split('.')[1]
            elif mod == 'multilabel_nb': target = None
            else: continue
            if target and target != me: res.append((target, [a.name for a in t.names]))
            elif not target: res += [(a.name, []) for a in t.names if (PKG/f'{a.name}.py').exists() and a.name != me]
        elif isinstance(t, ast.Import):
            res += [(a.name.split('.')[1], []) for a in t.names if a.name.startswith('multilabel_nb.') and a.name.split('.')[1] != me]
    return res

def circles(graph):
    "The import circles of `graph` ({module: set of modules it imports}), each once, as lists of modules"
    found, seen = [], set()
    def visit(path):
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                key = frozenset(path)
                if key not in seen: seen.add(key); found.append(path + [nxt])
            elif nxt not in path and nxt > path[0]: visit(path + [nxt])
    for m in sorted(graph): visit([m])
    return found

def depth(graph):
    "The number of levels of the import graph (1 for modules that import none of the others), circles cut"
    memo = {}
    def d(m, stack=()):
        if m in memo: return memo[m]
        res = 1 + max((d(n, stack + (m,)) for n in graph.get(m, ()) if n not in stack and n in graph), default=0)
        memo[m] = res
        return res
    return max(d(m) for m in graph)

def fn_lines(trees, name):
    "(lines of the function `name` with its signature and docstring, lines of its body alone, its parameters), wherever it is defined"
    for t in trees.values():
        for f in ast.walk(t):
            if isinstance(f, ast.FunctionDef) and f.name == name:
                body = f.body[1:] if isinstance(f.body[0], ast.Expr) and isinstance(getattr(f.body[0], 'value', None), ast.Constant) else f.body
                return f.end_lineno - f.lineno + 1, f.end_lineno - body[0].lineno + 1, len(f.args.args) + len(f.args.kwonlyargs)
    return None, None, None

def median_wall(argv, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT); times.append(time.perf_counter() - t0)
        if r.returncode: sys.exit(f"{' '.join(argv)} failed:\n{r.stderr[-2000:]}")
    return statistics.median(times)

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--label', default='', help='a word for this measurement, e.g. before or after a change')
    args = p.parse_args()
    trees = modules()
    graph = {m: {t for t, _ in imports(tree, m) if t in trees} for m, tree in trees.items()}
    private = [(m, t, n) for m, tree in trees.items() for t, names in imports(tree, m) for n in names if n.startswith('_')]
    circ = circles(graph)
    lines, body_lines, params = fn_lines(trees, 'fit_tune_report')
    n_core = subprocess.run([sys.executable, '-c', 'from multilabel_nb.core import *; print(len([k for k in dir() if not k.startswith("_")]))'],
                            capture_output=True, text=True, cwd=ROOT).stdout.strip()
    exe = shutil.which('multilabel-nb', path=str(Path(sys.executable).parent)) or 'multilabel-nb'
    t_core = median_wall([sys.executable, '-c', 'import multilabel_nb.core'], args.repeat)
    t_help = median_wall([exe, '--help'], args.repeat)
    t_train_help = median_wall([exe, 'train', '--help'], args.repeat)
    rows = {'modules': len(trees), 'levels of the import graph': depth(graph), 'import circles': len(circ),
            'imports of another module\'s private name': len(private), 'lines of fit_tune_report (with its signature)': lines,
            'lines of fit_tune_report\'s body': body_lines,
            'parameters of fit_tune_report': params, 'names from `from multilabel_nb.core import *`': n_core,
            '`import multilabel_nb.core` (s, median)': f'{t_core:.2f}', '`multilabel-nb --help` (s, median)': f'{t_help:.2f}',
            '`multilabel-nb train --help` (s, median)': f'{t_train_help:.2f}'}
    import pandas as pd
    df = pd.DataFrame({'value': {k: str(v) for k, v in rows.items()}}); df.index.name = 'measure'
    body = md_table(df) + '\n\n'
    body += ''.join(f"- circle: {' -> '.join(c)}\n" for c in circ)
    if private:
        by = pd.Series([f"{t}.{n}" for _, t, n in private]).value_counts()
        body += f"- private names imported across modules: {', '.join(f'{k} ({v})' for k, v in by.items())}\n"
    append_results(f"Architecture{' (' + args.label + ')' if args.label else ''}", 'the package\'s own source files', body)

if __name__ == '__main__': main()

"""Run lesson notebooks top to bottom in a Jupyter kernel and store their outputs, as a reader of the docs site sees them.

    python .ci/execute.py nbs/05_learner.ipynb [more notebooks...] [--flags photos]

`nbdev-test` runs the lessons as tests and keeps no outputs; the outputs stored in the notebooks come from this
script. It runs each notebook in a real IPython kernel (the project's Python, from the folder `nbs/`), so fastai
draws its training progress as one HTML epoch table, as in Jupyter and on Colab, and not as console bars.
Cells flagged with a test flag of `pyproject.toml` (`net`, `gpu`, `slow`, `photos`), and cells marked `#| eval: false`, are not
run, exactly as `nbdev-test` skips them, and their stored outputs are cleared; `--flags photos` runs the `photos` cells too
(they need fastai's `planet_sample` in fastai's data folder, or a network). It prints how long each notebook took. Warnings are shown with their category and message, without the path of the file that raised them (a hidden setup
cell sets `warnings.formatwarning`). Three things are tidied after the run, and nothing else is changed:
fastprogress's bars are taken out of HTML outputs (a bar that a Ctrl-C stopped half-way stays drawn otherwise),
and the epoch table beside them is kept; displays that are then empty are dropped; and the markdown copy that
fastprogress attaches to its HTML table (a code block of the same HTML) is dropped, so that Quarto shows the table.
Cells marked `#| hide` keep no output: the page does not show them.
A notebook that raises stops the run with the error, and its file is left as it was.
Outputs depend on the machine and the number of threads; set OMP_NUM_THREADS to choose it.
"""
import sys, os, re, json, argparse
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbdev.config import get_config

_SETUP = ("import warnings\n"
          "warnings.filterwarnings('ignore', message='IProgress not found')  # tqdm, imported by a dependency, wants ipywidgets\n"
          "warnings.formatwarning = lambda msg, cat, *args, **kwargs: f'{cat.__name__}: {msg}\\n'")

def _flags(cfg): return set(cfg.get('tst_flags', []) or [])

def _directives(src):
    return {m.group(1).split()[0] for m in re.finditer(r'^\s*#\s*\|\s*(.+)$', src, re.M) if m.group(1).split()}

_BAR = re.compile(r'<div>\s*<progress[^>]*>\s*</progress>[^<]*</div>')   # fastprogress's bar, beside its epoch table

def _tidy(outputs):
    res = []
    for o in outputs:
        d = o.get('data', {})
        for k in ('text/html', 'text/plain'):              # fastprogress gives its HTML as the plain text too
            if isinstance(d.get(k), (str, list)) and '<progress' in ''.join(d[k]): d[k] = _BAR.sub('', ''.join(d[k]))
        if o.get('output_type') == 'display_data' and set(d) <= {'text/html', 'text/plain'} and not d.get('text/html', 'x').strip():
            continue   # an emptied progress bar
        md = d.get('text/markdown', '')
        if 'text/html' in d and isinstance(md, str) and md.lstrip().startswith('```html'): del d['text/markdown']
        res.append(o)
    return res

def execute(path, timeout=900, flags=()):
    cfg = get_config()
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    skip = _flags(cfg) - set(flags)
    keep = []
    for c in nb.cells:
        if c.cell_type == 'code' and (_directives(c.source) & skip or re.search(r'^\s*#\s*\|\s*eval:\s*false', c.source, re.M)):
            c.outputs, c.execution_count = [], None
            c.metadata['_skip'] = True
        keep.append(c)
    run = nbformat.v4.new_notebook(metadata=nb.metadata)
    run.cells = [nbformat.v4.new_code_cell(_SETUP)] + [c for c in nb.cells if not c.metadata.get('_skip')]
    NotebookClient(run, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(cfg.nbs_path)}}).execute()
    done = iter(run.cells[1:])
    for c in nb.cells:
        if c.metadata.pop('_skip', False): continue
        r = next(done)
        if c.cell_type == 'code': c.outputs, c.execution_count = ([] if 'hide' in _directives(c.source) else _tidy(r.outputs)), r.execution_count
    nbformat.write(nb, path)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('notebooks', nargs='+')
    p.add_argument('--flags', default='', help='test flags whose cells to run too, e.g. "photos"')
    args = p.parse_args()
    import time
    for f in args.notebooks:
        print(f"running {f} ...", flush=True)
        start = time.time()
        execute(f, flags=args.flags.split())
        print(f"{f}: {time.time() - start:.0f} s", flush=True)

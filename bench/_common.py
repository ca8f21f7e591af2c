"Helpers the benchmark scripts share: where the data is, what machine this is, and appending to RESULTS.md"
import os, sys, json, platform, datetime, time, resource, subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH/'RESULTS.md'

def data_root() -> Path:
    "Folder of the benchmark data sets: `$MULTILABEL_NB_BENCH_DATA`, else `../shared/data` beside the repository"
    return Path(os.environ.get('MULTILABEL_NB_BENCH_DATA', ROOT.parent/'shared'/'data'))

def shared_set(name):
    "Path of the benchmark data set `name`, or None (with a message saying why it is skipped)"
    p = data_root()/name
    if p.is_dir(): return p
    print(f"SKIP {name}: {p} not found. Put the data set there, or point MULTILABEL_NB_BENCH_DATA at the folder that holds it.")
    return None

def planet_df(path):
    "planet_sample's labels as `path`/`labels` rows, every fourth image marked `is_valid` (quality.py re-splits it, stratified)"
    from multilabel_nb.loaders import load_pascal
    df = load_pascal(path, csv='labels.csv', folder='train', fname_col='image_name', label_col='tags', valid_col=None, suffix='.jpg')
    df['is_valid'] = df.index % 4 == 0
    return df

def _cpu_name():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()

def machine() -> str:
    "One line describing the hardware and the software versions"
    import torch, fastai
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return (f"{_cpu_name()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {gpu}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), fastai {fastai.__version__}, Python {platform.python_version()}")

def peak_rss_mb() -> float:
    "Peak resident memory (MB) of this process so far"
    scale = 1 if sys.platform == 'darwin' else 1024   # ru_maxrss is bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20

def git_rev() -> str:
    "The commit the code was run from, marked when tracked files other than RESULTS.md had changes not yet committed"
    git = lambda *a: subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    try: rev, dirty = git('rev-parse', '--short', 'HEAD'), [l for l in git('status', '--porcelain', '--untracked-files=no').splitlines() if not l.endswith('RESULTS.md')]
    except OSError: return 'unknown'
    return (rev or 'unknown') + (' with uncommitted changes' if dirty else '')

def append_results(title:str, data:str, body:str):
    "Print `body` and append it to bench/RESULTS.md under `title`, with the date, machine, data and commit"
    when = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    head = f"## {title}\n\n- Run: {when}, commit {git_rev()}, `python bench/{Path(sys.argv[0]).name}`\n- Machine: {machine()}\n- Data: {data}\n"
    text = f"{head}\n{body.strip()}\n\n"
    print('\n' + text)
    if not RESULTS.exists(): RESULTS.write_text("# Benchmark results\n\nEach script under `bench/` appends its section here; the newest run of a script is the last section with its name.\n\n")
    with RESULTS.open('a') as f: f.write(text)

def md_table(df, floatfmt='.3f') -> str:
    "A DataFrame as a Markdown table (without needing `tabulate`)"
    cols = [df.index.name or ''] + [str(c) for c in df.columns]
    # a column of whole numbers (counts) prints as whole numbers, even where pandas made it float
    whole = [all(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() for v in df[c]) for c in df.columns]
    fmt = lambda v, w: f"{int(v)}" if w else format(v, floatfmt) if isinstance(v, float) else str(v)
    rows = ['| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)]
    rows += ['| ' + ' | '.join([str(i)] + [fmt(v, w) for v, w in zip(r, whole)]) + ' |' for i, r in zip(df.index, df.itertuples(index=False))]
    return '\n'.join(rows)

class Timer:
    "Context manager: `.s` is the elapsed wall time in seconds"
    def __enter__(self): self.t0 = time.perf_counter(); return self
    def __exit__(self, *a): self.s = time.perf_counter() - self.t0

def run_child(script:str, args, env=None, launcher=()) -> list:
    "Run `bench/script --child ARGS` in fresh process(es) (under `launcher`, e.g. torchrun, if given); the JSON lines it printed"
    cmd = [*launcher, *([sys.executable] if not launcher else []), str(BENCH/script), '--child', *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if r.returncode: sys.exit(f"{script} {' '.join(map(str, args))} failed:\n{r.stderr[-3000:]}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith('{')]

"""Peak memory (RSS) of training and of batch prediction.

Each workload runs in a fresh Python process, so its peak is its own: the peak after the imports and the peak of the
whole run. On the CPU the library loads images in the main process (`loader_workers`) and checks them in threads, so
the main process holds all of it. Training exports its model; prediction loads that export, as `multilabel-nb predict` does."""
import sys, json, subprocess, tempfile, warnings
from pathlib import Path
from _common import BENCH, append_results, md_table, peak_rss_mb, shared_set, planet_df

def child(work, model_file, extra):
    "Run one workload in this process and print its peaks as JSON"
    from multilabel_nb.core import set_seed, L
    from multilabel_nb.data import load_pascal, make_digits, multilabel_block, loader_workers
    from multilabel_nb.inference import multilabel_learner, predict_files, load_model
    warnings.simplefilter('ignore')
    after_import = peak_rss_mb()
    df = planet_df(Path(extra)) if extra else load_pascal(make_digits())
    set_seed(42)
    if work == 'train':
        arch, size = ('efficientnet_lite0', 128) if extra else ('small_cnn', 48)
        dls = multilabel_block(size=size, aug=False).dataloaders(df, bs=64, num_workers=loader_workers())
        learn = multilabel_learner(dls, arch=arch)
        with learn.no_bar(), learn.no_logging():
            if extra: learn.fine_tune(1, 1e-2, freeze_epochs=1)
            else: learn.fit_one_cycle(2, 1e-2)
        learn.export(Path(model_file).resolve())
        n = len(df)
    else:
        learn = load_model(model_file)
        files = L(list(df.path.map(Path)))
        predict_files(learn, files, bs=64, progress=False)
        n = len(files)
    print(json.dumps({'after imports MB': after_import, 'peak MB': peak_rss_mb(), 'images': n}))

def run(work, model_file, extra=''):
    r = subprocess.run([sys.executable, str(BENCH/'memory.py'), '--child', work, str(model_file), extra], capture_output=True, text=True)
    if r.returncode: sys.exit(f"{work} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    rows, data = {}, ['built-in digits (2,000 PNGs, 48 px)']
    with tempfile.TemporaryDirectory() as tmp:
        m = Path(tmp)/'digits.pkl'
        rows['train small_cnn, 48 px, digits, 2 epochs'] = run('train', m)
        rows['predict_files small_cnn, all 2,000 digits'] = run('predict', m)
        planet = shared_set('planet_sample')
        if planet:
            m = Path(tmp)/'planet.pkl'
            rows['train EfficientNet-Lite0, 128 px, planet, fine_tune(1)'] = run('train', m, str(planet))
            rows['predict_files EfficientNet-Lite0, all 1,000 planet'] = run('predict', m, str(planet))
            data.append('planet_sample (1,000 JPEGs, 256 px)')
    tab = pd.DataFrame(rows).T
    tab['images'] = tab['images'].astype(int)
    tab.index.name = 'workload (batch size 64)'
    append_results('Peak memory (RSS)', '; '.join(data), md_table(tab, '.0f'))

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(*sys.argv[2:5])
    else:
        import pandas as pd
        main()

"""Peak memory (RSS) of training and of batch prediction.

Each workload runs in a fresh Python process, so its peak is its own: the peak after the imports and the peak of the
whole run. The library decodes every image once into memory (lesson 03) in threads of the main process, so the main
process holds all of it. Training saves its model in the safe format; prediction loads it, as `multilabel-nb predict`
does. Photos: the default recipe for them, a linear probe on EfficientNet-Lite0 at 224 px."""
import sys, json, subprocess, tempfile, warnings
from pathlib import Path
from _common import BENCH, append_results, md_table, peak_rss_mb, shared_set, planet_df

def child(work, model_file, extra):
    "Run one workload in this process and print its peaks as JSON"
    from multilabel_nb.core import set_seed, L
    from multilabel_nb.data import load_pascal, make_digits
    from multilabel_nb.images import multilabel_dls
    from multilabel_nb.learner import multilabel_learner, fit_probe
    from multilabel_nb.inference import predict_files, save_classifier, load_classifier
    warnings.simplefilter('ignore')
    after_import = peak_rss_mb()
    df = planet_df(Path(extra)) if extra else load_pascal(make_digits())
    set_seed(42)
    if work == 'train':
        dls = multilabel_dls(df, size=224 if extra else 48, bs=64)
        if extra: learn = fit_probe(dls, 'efficientnet_lite0')
        else:
            learn = multilabel_learner(dls)
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-2)
        save_classifier(learn, model_file)
        n = len(df)
    else:
        files = L(list(df.path.map(Path)))
        predict_files(load_classifier(model_file), files, bs=64)
        n = len(files)
    print(json.dumps({'after imports MB': after_import, 'peak MB': peak_rss_mb(), 'images': n}))

def run(work, model_file, extra=''):
    r = subprocess.run([sys.executable, str(BENCH/'memory.py'), '--child', work, str(model_file), extra], capture_output=True, text=True)
    if r.returncode: sys.exit(f"{work} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    rows, data = {}, ['built-in digits (2,000 PNGs, 48 px)']
    with tempfile.TemporaryDirectory() as tmp:
        m = Path(tmp)/'digits'
        rows['train small_cnn, 48 px, digits, 2 epochs'] = run('train', m)
        rows['predict_files small_cnn, all 2,000 digits'] = run('predict', m)
        planet = shared_set('planet_sample')
        if planet:
            m = Path(tmp)/'planet'
            rows['train: EfficientNet-Lite0 probe, 224 px, planet'] = run('train', m, str(planet))
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

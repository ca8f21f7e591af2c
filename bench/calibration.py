"""Calibration: does the training run's per-label temperature lower the error of its probabilities on images it never saw?

A run (`fit_tune_report`, default options) fits one temperature per label on its validation probabilities and keeps
it only where 5-fold cross-validation says it lowers the held-out log loss (`fit_temperatures`). That choice is made on
the validation images, so it cannot be judged on them. Here each run is trained with `calibration='off'`, its
validation images are cut in two halves, the temperatures are chosen on one half exactly as the run chooses them, and
the log loss and the expected calibration error (ECE, ten bins, over all image-label pairs) are measured on the other
half, without and with them; then the halves swap. Several seeds give several splits.

    python bench/calibration.py [--seeds 42 43 44]"""
import argparse, tempfile, json
from pathlib import Path
import numpy as np, pandas as pd
from _common import append_results, md_table, shared_set, Timer

def half_scores(probs, targs, vocab, seed):
    "Log loss and ECE on each half of the validation images, with temperatures chosen on the other half; averaged over the two"
    from sklearn.metrics import log_loss
    from multilabel_nb.training import fit_temperatures
    from multilabel_nb.metrics import calibration_table
    idx = np.random.default_rng(seed).permutation(len(probs))
    halves = idx[:len(idx) // 2], idx[len(idx) // 2:]
    res = []
    for fit, test in (halves, halves[::-1]):
        cal = fit_temperatures(probs[fit], targs[fit], vocab)
        p, q, y = probs[test], cal.rescale(probs[test]), targs[test]
        ll = lambda p: float(log_loss(y.numpy().ravel(), p.double().clamp(1e-7, 1 - 1e-7).numpy().ravel(), labels=[0, 1]))   # clipped as the run clips
        res.append(dict(labels_rescaled=int((cal.temps != 1).sum()), log_loss=ll(p), log_loss_rescaled=ll(q),
                        ece=float(calibration_table(p, y)['ece'].iloc[-1]), ece_rescaled=float(calibration_table(q, y)['ece'].iloc[-1])))
    return {k: float(np.mean([r[k] for r in res])) for k in res[0]}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    args = p.parse_args()
    import torch
    from multilabel_nb.training import fit_tune_report
    from multilabel_nb.core import encode_labels, parse_labels
    sets = {'digits (2,000)': None}
    for name, csv in (('planet_sample', 'labels.csv'), ('fashion6', None)):
        if (path := shared_set(name)): sets[name] = dict(data=path/csv) if csv else dict(data=path, sep='_')
    rows = {}
    for name, data in sets.items():
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp, Timer() as t:
                run = fit_tune_report(data, Path(tmp)/'run', verbose=False, calibration='off', seed=seed)
                s = json.loads((run/'settings.json').read_text())
                vp = pd.read_csv(run/'valid_preds.csv', dtype={'labels': str}, keep_default_na=False)
            vocab = s['vocab']
            probs = torch.tensor(vp[vocab].values).float()
            targs = torch.stack([encode_labels(parse_labels(o, s['report_label_delim']), vocab) for o in vp['labels']])
            rows[(name, seed)] = {'validation images': len(vp), 'labels': len(vocab), **half_scores(probs, targs, vocab, seed), 'run s': t.s}
    tab = pd.DataFrame(rows).T
    tab.index = [f"{n}, seed {s}" for n, s in tab.index]
    tab.index.name = 'set, seed (split)'
    means = tab.groupby([i.split(', seed')[0] for i in tab.index]).mean()
    lines = [f"- {n}: held-out log loss {r.log_loss:.4f} → {r.log_loss_rescaled:.4f} ({r.log_loss_rescaled - r.log_loss:+.4f}), "
             f"ECE {r.ece:.4f} → {r.ece_rescaled:.4f} ({r.ece_rescaled - r.ece:+.4f}); {r.labels_rescaled:.1f} of {r.labels:.0f} labels rescaled on average."
             for n, r in means.iterrows()]
    body = (md_table(tab, '.4f') + "\n\nMeans over the seeds:\n\n" + '\n'.join(lines) +
            "\n\nEach figure is on the half of the validation images that the temperatures were not chosen on (mean of the two halves); "
            "a negative change is a gain. The run itself chooses on all its validation images, so it has twice these images to choose on.")
    append_results('Calibration: per-label temperature, judged on held-out halves', ', '.join(sets), body)

if __name__ == '__main__': main()

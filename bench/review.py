"""Label review: how many flipped labels the ranking of `review` finds near its top.

On fashion6 (93 photos, colour + item from folder names) and the built-in digits, a seeded script flips 5% of the
(image, label) pairs (half removed, half added), or removes one label from some images (a missing-label noise model);
`oof_probs` gives every image out-of-fold probabilities (5 folds of a linear probe on EfficientNet-Lite0 features), and
`rank_labels` ranks the pairs it doubts. Reported: the share of the flips among the first 2x(flips) rows (recall; target
at least 80%), and the share of those rows that are flips (precision), over several noise seeds.

    python bench/review.py [--seeds 0 1 2]"""
import argparse, time
import numpy as np, pandas as pd
from _common import append_results, md_table, shared_set

def flip_pairs(rows, rate, rng):
    "Flip `rate` of the (image, label) pairs: half of them given labels removed, half absent labels added"
    vocab = sorted({l for ls in rows['labels'] for l in ls})
    y = np.array([[c in ls for c in vocab] for ls in rows['labels']])
    pos, neg = np.argwhere(y), np.argwhere(~y)
    n = max(1, int(rate * y.size / 2))
    flips = np.concatenate([pos[rng.choice(len(pos), min(n, len(pos)), replace=False)], neg[rng.choice(len(neg), min(n, len(neg)), replace=False)]])
    y[tuple(flips.T)] ^= True
    return rows.assign(labels=[[c for c, on in zip(vocab, r) if on] for r in y]), {(rows['path'][i], vocab[j]) for i, j in flips}

def drop_one(rows, rate, rng):
    "Remove one given label from `rate` of the images that have at least two (a label left out)"
    many = [i for i, l in enumerate(rows['labels']) if len(l) >= 2]
    pick = rng.choice(many, max(1, int(rate * len(rows))), replace=False)
    labels, flips = [list(l) for l in rows['labels']], set()
    for i in pick:
        l = labels[i].pop(rng.integers(len(labels[i]))); flips.add((rows['path'][i], l))
    return rows.assign(labels=labels), flips

def measure(rows, noise, rate, seed):
    from multilabel_nb.review import oof_probs, rank_labels
    noisy, flips = noise(rows.reset_index(drop=True), rate, np.random.default_rng(seed))
    t = time.perf_counter()
    probs, targs, kept = oof_probs(noisy, sorted({l for ls in rows['labels'] for l in ls}), show=False)
    ranking = rank_labels(probs, targs, sorted({l for ls in rows['labels'] for l in ls}), list(kept['path']))
    cut = ranking.head(2 * len(flips))
    hit = sum((r.image, r.label) in flips for r in cut.itertuples())
    return {'flips': len(flips), 'rows ranked': len(ranking), f'recall at 2x flips': hit / len(flips),
            'precision at 2x flips': hit / max(1, len(cut)), 'seconds': time.perf_counter() - t}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = p.parse_args()
    from multilabel_nb.loaders import load_data, load_folders
    sets = {'digits (600)': load_data(digits=600)}
    fashion = shared_set('fashion6')
    if fashion: sets['fashion6'] = load_folders(fashion, sep='_')
    rows = {}
    for name, df in sets.items():
        for noise, rate, what in ((flip_pairs, 0.05, '5% of pairs flipped'), (drop_one, 0.2, 'one label removed from 20% of images')):
            if name.startswith('fashion') or noise is flip_pairs:
                res = [measure(df, noise, rate, s) for s in args.seeds]
                rows[f"{name}: {what}"] = {k: np.mean([r[k] for r in res]) for k in res[0]} | {'worst recall': min(r['recall at 2x flips'] for r in res)}
    tab = pd.DataFrame(rows).T
    tab.index.name = f'set: noise (mean of seeds {args.seeds})'
    lines = [f"- {k}: recall at 2x flips {v['recall at 2x flips']:.0%} (worst seed {v['worst recall']:.0%}; target at least 80%: "
             f"{'met' if v['worst recall'] >= 0.8 else 'missed'}), precision {v['precision at 2x flips']:.0%}." for k, v in rows.items()]
    append_results('Label review: flipped labels found', ', '.join(sets), md_table(tab, '.3f') + '\n\n' + '\n'.join(lines))

if __name__ == '__main__': main()

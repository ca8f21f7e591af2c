"""Frozen-body training and the body's BatchNorm: should its layers stay in eval mode while the head trains?

    python bench/batchnorm.py [--only planet_sample fashion6 digits] [--seeds 0 1 2] [--ft-seeds 0 1 2] [--epochs 3]
                              [--planet-seeds 0 1] [--planet-ft-seeds 0] [--budget-min 25] [--resume]

`multilabel_learner(dls, 'efficientnet_lite0')` (offline ImageNet weights, body frozen, fastai's head) trained three ways
with the body frozen, `fit_one_cycle(EPOCHS, 3e-3)`:
  (a) fastai's default, `train_bn=True`: the body's BatchNorm weights train, its layers are in training mode (batch
      statistics in the forward pass, running statistics moved by every batch);
  (b) `train_bn=False`: BatchNorm weights frozen, but the layers still in training mode (running statistics still move);
  (c) `train_bn=False` plus fastai's `BnFreeze` callback: the frozen BatchNorm layers in eval mode (the pretrained
      running statistics are used and kept);
and a whole `fine_tune(2, 3e-3, freeze_epochs=1)` for (a) and (c) (after `unfreeze` every BatchNorm trains in both, so
only the frozen epoch differs).
Data: planet_sample and fashion6 at 128 px (to keep it affordable; each seed is one stratified 75/25 split, as in
quality.py), and the plain-PyTorch lesson's tinted single digits 0-4 (`colour_digits(dest, n=1000)`, its own fixed
train/valid split; a seed there changes only the head's initial weights and the batch order) at 64 px. Batch size 32.
Scores on the validation images: mAP, and macro F1 at the threshold 0.5. The per-epoch validation fastai runs is
skipped (it does not change the training), and each run is timed from building the learner to its predictions.
Also checked, at the first training batch of each run: how many of the body's BatchNorm layers are in training mode and
whether their weights train; and after training, whether the body's running statistics moved.
Order of the runs: the three frozen-body configurations on every set for the first seed, one fine_tune seed per set,
then the other seeds of the frozen-body runs, then the other fine_tune seeds; no run starts after `--budget-min` minutes
(those left are listed as not run). Each finished run is appended to `--log`; `--resume` reuses them.
Min-max = range over the seeds. Wall times are noisy on a shared 2-core CPU (the 1-minute load average is logged)."""
import argparse, json, os, warnings, time
from pathlib import Path
from _common import Timer, append_results, md_table, shared_set, planet_df
from multilabel_nb.all import *
from multilabel_nb.loaders import load_folders, load_onehot
from multilabel_nb.pytorch import colour_digits
from fastai.callback.training import BnFreeze

def split(df, seed):
    "A stratified 75/25 split of `df` (quality.py's)"
    df = df.copy(); df['is_valid'] = False
    df.loc[list(StratifiedSplitter(0.25, seed)(df)[1]), 'is_valid'] = True
    return df

def datasets(only=None):
    "name -> (function of the seed giving a DataFrame with path/labels/is_valid, image size, description)"
    res = {}
    planet = shared_set('planet_sample')
    if planet:
        df = planet_df(planet).drop(columns='is_valid')
        res['planet_sample'] = (lambda seed, df=df: split(df, seed), 128, 'planet_sample: 1,000 satellite JPEGs, 17 tags, 128 px, stratified 75/25 split per seed')
    fashion = shared_set('fashion6')
    if fashion:
        df = load_folders(fashion, sep='_')
        res['fashion6'] = (lambda seed, df=df: split(df, seed), 128, f'fashion6: {len(df)} apparel JPEGs, colour + item labels, 128 px, stratified 75/25 split per seed')
    dest = Path(os.environ.get('MULTILABEL_NB_CACHE') or '/tmp')/'colour_digits_1000'
    if not (dest/'labels.csv').exists(): colour_digits(dest, n=1000)
    df, _ = load_onehot(dest/'labels.csv', folder=dest/'images', valid_col='is_valid')
    df = df[['path', 'labels', 'is_valid']]
    res['digits'] = (lambda seed, df=df: df, 64, f"tinted digits 0-4 (`colour_digits(n=1000)`): {(~df.is_valid).sum()} train / {df.is_valid.sum()} valid, "
                     "8 labels (colour + digit), 64 px, the file's own split")
    order = ['fashion6', 'digits', 'planet_sample']       # the quick sets first
    return {k: res[k] for k in order if k in res and (only is None or k in only)}

class NoValidation(Callback):
    "Skip fastai's validation after each epoch (predictions are taken once, at the end)"
    order = 0
    def before_fit(self): self.learn.recorder.valid_metrics = False
    def before_validate(self): raise CancelValidException()

class BnCheck(Callback):
    "At the first training batch: body BatchNorm layers in training mode, and with trainable weights"
    order = 100                       # after BnFreeze and TrainEvalCallback
    def __init__(self): self.seen = None
    def before_batch(self):
        if not self.training or self.seen is not None: return
        bns = [m for m in self.learn.model[0].modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.seen = (sum(m.training for m in bns), sum(m.weight.requires_grad for m in bns), len(bns))

def bn_buffers(model):
    return torch.cat([m.running_mean.flatten() for m in model[0].modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]).clone()

CONFIGS = {
    '(a) frozen, train_bn=True (fastai default)': dict(train_bn=True, freeze_cb=False, fine_tune=False),
    '(b) frozen, train_bn=False': dict(train_bn=False, freeze_cb=False, fine_tune=False),
    '(c) frozen, train_bn=False + BnFreeze': dict(train_bn=False, freeze_cb=True, fine_tune=False),
    '(a) fine_tune, train_bn=True (fastai default)': dict(train_bn=True, freeze_cb=False, fine_tune=True),
    '(c) fine_tune, train_bn=False + BnFreeze': dict(train_bn=False, freeze_cb=True, fine_tune=True),
}

def run(dls, seed, cfg, epochs):
    with Timer() as t:
        seed_run(dls, seed)
        check = BnCheck()
        cbs = [NoValidation(), check] + ([BnFreeze()] if cfg['freeze_cb'] else [])
        learn = multilabel_learner(dls, 'efficientnet_lite0', train_bn=cfg['train_bn'], cbs=cbs)
        before = bn_buffers(learn.model)
        with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if cfg['fine_tune']: learn.fine_tune(2, 3e-3, freeze_epochs=1)
            else: learn.fit_one_cycle(epochs, 3e-3)
        moved = (bn_buffers(learn.model) - before).abs().max().item()
        learn.remove_cb(NoValidation)
        with learn.no_bar(): p, y = learn.get_preds()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        s = multilabel_scores(p, y, 0.5)
        res = {'mAP': mean_ap(p, y, warn=False), 'f1_macro@0.5': s['f1_macro'], 'seconds': t.s}
    bn_train, bn_grad, n_bn = check.seen
    return res, {'body BN layers in train mode (first batch)': f"{bn_train}/{n_bn}", 'BN weights trainable': f"{bn_grad}/{n_bn}",
                 'running stats moved (max abs)': moved}

def summarise(rows):
    r = pd.DataFrame(rows)
    g = r.groupby(['set', 'config'], sort=False)
    out = pd.DataFrame({
        'seeds': g.size(),
        'mAP mean': g['mAP'].mean(), 'mAP min-max': g['mAP'].agg(lambda v: f"{v.min():.3f}-{v.max():.3f}"),
        'F1@0.5 mean': g['f1_macro@0.5'].mean(), 'F1@0.5 min-max': g['f1_macro@0.5'].agg(lambda v: f"{v.min():.3f}-{v.max():.3f}"),
        'seconds mean': g['seconds'].mean().round(0).astype(int)})
    out.index = [f"{a}: {b}" for a, b in out.index]
    out.index.name = 'set: configuration'
    return out

def jobs(sets, seeds, ft_seeds):
    "(set, seed, config) in the order they run: the frozen-body configurations seed by seed over every set, then fine_tune"
    frozen = [k for k, c in CONFIGS.items() if not c['fine_tune']]
    ft = [k for k, c in CONFIGS.items() if c['fine_tune']]
    res = []
    for i in range(max(len(v) for v in seeds.values())):
        res += [(n, seeds[n][i], k) for n in sets if i < len(seeds[n]) for k in frozen]
        if i == 0: res += [(n, ft_seeds[n][0], k) for n in sets if ft_seeds[n] for k in ft]   # one fine_tune seed early
    for i in range(1, max(len(v) for v in ft_seeds.values())):
        res += [(n, ft_seeds[n][i], k) for n in sets if i < len(ft_seeds[n]) for k in ft]
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', nargs='+', help='data sets to run: planet_sample, fashion6, digits (default: all present)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='seeds of the frozen-body runs')
    p.add_argument('--planet-seeds', type=int, nargs='+', help='seeds of the frozen-body runs on planet_sample (default: --seeds)')
    p.add_argument('--ft-seeds', type=int, nargs='+', default=[0, 1, 2], help='seeds of the fine_tune runs')
    p.add_argument('--planet-ft-seeds', type=int, nargs='+', help='seeds of the fine_tune runs on planet_sample (default: --ft-seeds)')
    p.add_argument('--epochs', type=int, default=3, help='epochs of fit_one_cycle with the body frozen')
    p.add_argument('--budget-min', type=float, default=25, help='start no new run after this many minutes (the rest is reported as not run)')
    p.add_argument('--log', default=str(Path(os.environ.get('MULTILABEL_NB_CACHE') or '/tmp')/'batchnorm_runs.jsonl'),
                   help='finished runs are appended here, and a later call with --resume reuses them')
    p.add_argument('--resume', action='store_true', help='reuse the finished runs of --log (same epochs) instead of running them again')
    args = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    sets, rows, checks = datasets(args.only), [], {}
    seeds = {n: (args.planet_seeds if n == 'planet_sample' and args.planet_seeds else args.seeds) for n in sets}
    ft_seeds = {n: (args.planet_ft_seeds if n == 'planet_sample' and args.planet_ft_seeds else args.ft_seeds) for n in sets}
    done = {}
    if args.resume and Path(args.log).exists():
        for l in Path(args.log).read_text().splitlines():
            r = json.loads(l)
            if r['epochs'] == args.epochs: done[(r['set'], r['seed'], r['config'])] = r
    t0, dls_of, skipped = time.perf_counter(), {}, []
    for name, seed, cname in jobs(sets, seeds, ft_seeds):
        if (name, seed, cname) in done:
            r = done[(name, seed, cname)]; rows.append({k: r[k] for k in ('set', 'config', 'seed', 'mAP', 'f1_macro@0.5', 'seconds')})
            checks.setdefault(cname, r['check']); continue
        if time.perf_counter() - t0 > args.budget_min * 60: skipped.append((name, seed, cname)); continue
        make, size, _ = sets[name]
        if (name, seed) not in dls_of: dls_of = {(name, seed): multilabel_dls(make(seed), size=size, bs=32, show=False)}  # one at a time
        res, chk = run(dls_of[(name, seed)], seed, CONFIGS[cname], args.epochs)
        rows.append({'set': name, 'config': cname, 'seed': seed, **res})
        checks.setdefault(cname, chk)
        with open(args.log, 'a') as f: f.write(json.dumps({'set': name, 'config': cname, 'seed': seed, 'epochs': args.epochs, **res,
                                                           'check': chk, 'load': os.getloadavg()[0]}) + '\n')
        print(name, seed, cname, {k: round(float(v), 3) for k, v in res.items()}, chk, f"[{time.perf_counter() - t0:.0f} s so far, load {os.getloadavg()[0]:.1f}]", flush=True)
    order = {k: i for i, k in enumerate(CONFIGS)}
    rows.sort(key=lambda r: (list(sets).index(r['set']), order[r['config']], r['seed']))
    table = summarise(rows)
    print(table.to_string())
    chk = pd.DataFrame(checks).T.loc[[k for k in CONFIGS if k in checks]]
    chk['running stats moved (max abs)'] = chk['running stats moved (max abs)'].map(lambda v: f"{v:.3g}")
    chk.index.name = 'configuration (first run)'
    mean = pd.DataFrame(rows).groupby(['set', 'config'], sort=False)[['mAP', 'f1_macro@0.5']].mean()
    lines = []
    for name in sets:
        if name not in mean.index.get_level_values(0): continue
        m = mean.loc[name]
        frozen = [c for c in m.index if 'frozen' in c]
        if len(frozen) == 3:
            a, b, c = (m.loc[k] for k in frozen)
            lines.append(f"- {name}, frozen body: (c) minus (a) mAP {c['mAP'] - a['mAP']:+.3f}, F1@0.5 {c['f1_macro@0.5'] - a['f1_macro@0.5']:+.3f}; "
                         f"(c) minus (b) mAP {c['mAP'] - b['mAP']:+.3f}, F1@0.5 {c['f1_macro@0.5'] - b['f1_macro@0.5']:+.3f}.")
        ft = [c for c in m.index if 'fine_tune' in c]
        if len(ft) == 2:
            a, c = (m.loc[k] for k in ft)
            lines.append(f"- {name}, fine_tune: (c) minus (a) mAP {c['mAP'] - a['mAP']:+.3f}, F1@0.5 {c['f1_macro@0.5'] - a['f1_macro@0.5']:+.3f}.")
    if skipped: lines.append(f"- Not run (past the {args.budget_min:g}-minute budget): " + '; '.join(f"{n} seed {s} {k}" for n, s, k in skipped) + '.')
    body = (f"Frozen body: `fit_one_cycle({args.epochs}, 3e-3)`; fine_tune: `fine_tune(2, 3e-3, freeze_epochs=1)`; EfficientNet-Lite0, "
            f"fastai's head, batch size 32. Seeds asked for, frozen runs: {seeds}; fine_tune runs: {ft_seeds} (the `seeds` column counts "
            f"those run). Wall time of this call {time.perf_counter() - t0:.0f} s" + (f" ({len(done)} runs reused from an earlier call)" if done else '')
            + ".\n\n" + md_table(table) + '\n\n' + md_table(chk) + '\n\n' + '\n'.join(lines))
    append_results('Frozen-body training and BatchNorm: train_bn and BnFreeze', '; '.join(d for _, _, d in sets.values()), body)

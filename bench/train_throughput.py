"""Training throughput (images/s) of the library's default recipe (images decoded once, batches sliced from memory,
channels-last convolutions), the same with fastai's item-by-item loading, the fastbook chapter 6 recipe and the
plain-PyTorch loop of lesson 9, on the same model, image size, batch size and data; and how close each comes to this
machine's limit (the model's forward+backward FLOPs per image against the measured matmul GFLOP/s of this CPU).

Only the training phase of each epoch is timed (data loading included, validation excluded), after one warm-up epoch.
Targets: the library at least as fast as the fastbook recipe, and at least 60% of the matmul limit."""
import argparse, time, io, contextlib
from _common import Timer, append_results, md_table
from multilabel_nb.core import *
from multilabel_nb.data import *
from multilabel_nb.images import *
from multilabel_nb.cache import *
from multilabel_nb.loaders import load_pascal
from multilabel_nb.learner import multilabel_learner, seed_run
from multilabel_nb.pytorch import OneHotImages, image_tfms, train_loop
from fastai.callback.channelslast import ChannelsLast
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.flop_counter import FlopCounterMode

SIZE, BS, LR = 48, 64, 1e-2   # the defaults of `multilabel-nb train`

def matmul_gflops(n=2048, reps=10):
    "Best float32 matmul speed of this CPU (GFLOP/s) with torch's default threads"
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3): a @ b
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return 2 * n**3 / best / 1e9

def _timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

def train_flops_per_image(model, size=SIZE, bs=BS):
    "Forward + backward FLOPs per image, counted by `torch.utils.flop_counter`"
    x = torch.randn(bs, 3, size, size)
    with FlopCounterMode(display=False) as fc: model(x).sum().backward()
    model.zero_grad()
    return fc.get_total_flops() / bs

class TrainTimer(Callback):
    "Times the training phase of each epoch (from the first batch requested to the last step), counting images"
    order = 0
    def before_fit(self): self.secs, self.imgs = [], []
    def before_train(self): self.t0, self.n = time.perf_counter(), 0
    def after_batch(self):
        if self.training: self.n += find_bs(self.yb)
    def after_train(self): self.secs.append(time.perf_counter() - self.t0); self.imgs.append(self.n)

class TimedLoader:
    "Wraps a torch DataLoader so that each full pass over it is timed (the training phase of `train_loop`)"
    def __init__(self, dl): self.dl, self.secs, self.imgs = dl, [], []
    def __len__(self): return len(self.dl)
    def __iter__(self):
        t0, n = time.perf_counter(), 0
        for x, y in self.dl:
            yield x, y
            n += len(y)
        self.secs.append(time.perf_counter() - t0); self.imgs.append(n)

def fastai_run(dls, epochs, metrics, channels_last=False):
    seed_run(dls, 42)
    learn = Learner(dls, small_cnn(dls.c), loss_func=BCEWithLogitsLossFlat(), metrics=metrics, cbs=TrainTimer())
    if channels_last: learn.add_cb(ChannelsLast())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs + 1, LR)
    cb = learn.train_timer
    return sum(cb.imgs[1:]) / sum(cb.secs[1:])

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--epochs', type=int, default=3, help='timed epochs per recipe (after one warm-up epoch)')
    epochs = p.parse_args().epochs
    peak0 = matmul_gflops()
    df = load_pascal(make_digits())
    n_train = int((~df.is_valid).sum())
    res = {}

    # what `multilabel-nb train` builds: images decoded once (`multilabel_dls`), small_cnn, channels-last, the library's metrics
    dls = multilabel_dls(df, size=SIZE, bs=BS)
    lib = multilabel_learner(dls)
    res['library default (decoded once, channels-last)'] = fastai_run(dls, epochs, lib.metrics, channels_last=True)
    res['library, decoded once, contiguous memory format'] = fastai_run(dls, epochs, lib.metrics)
    item = DataBlock(blocks=(ImageBlock, MultiCategoryBlock), get_x=get_x, get_y=get_y, splitter=ColSplitter('is_valid'),
                     item_tfms=Resize(SIZE)).dataloaders(df, bs=BS, num_workers=0)
    res["fastai item by item (ImageBlock, Resize, 0 workers)"] = fastai_run(item, epochs, lib.metrics)
    fb = DataBlock(blocks=(ImageBlock, MultiCategoryBlock), get_x=get_x, get_y=get_y, splitter=ColSplitter('is_valid'),
                   item_tfms=RandomResizedCrop(SIZE, min_scale=0.35)).dataloaders(df, bs=BS)
    res[f'fastbook ch. 6 (RandomResizedCrop 0.35, {fb.train.fake_l.num_workers} workers)'] = fastai_run(fb, epochs, partial(accuracy_multi, thresh=0.2))

    vocab = list(dls.vocab)
    onehot = df.assign(**{c: [int(c in l) for l in df['labels']] for c in vocab})
    torch.manual_seed(42)
    train_dl = TimedLoader(TorchDataLoader(OneHotImages(onehot[~onehot.is_valid], vocab, image_tfms(SIZE)), batch_size=BS, shuffle=True))
    valid_dl = TorchDataLoader(OneHotImages(onehot[onehot.is_valid], vocab, image_tfms(SIZE)), batch_size=128)
    model = small_cnn(len(vocab))
    with contextlib.redirect_stdout(io.StringIO()):   # train_loop's progress bars
        train_loop(model, train_dl, valid_dl, epochs=epochs + 1, lr=LR)
    res['plain PyTorch loop (lesson 9, num_workers=0)'] = sum(train_dl.imgs[1:]) / sum(train_dl.secs[1:])

    # The model alone: the same steps on batches already in memory, i.e. what no data pipeline can beat
    model = small_cnn(len(vocab)); opt = torch.optim.AdamW(model.parameters(), lr=LR)
    xb, yb = torch.randn(BS, 3, SIZE, SIZE), torch.randint(0, 2, (BS, len(vocab))).float()
    def step():
        loss = F.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(5): step()
    n_steps = max(1, n_train // BS) * epochs
    with Timer() as t:
        for _ in range(n_steps): step()
    res['model alone (batches in memory, no data loading)'] = n_steps * BS / t.s
    model, xb = model.to(memory_format=torch.channels_last), xb.contiguous(memory_format=torch.channels_last)
    for _ in range(5): step()
    with Timer() as t:
        for _ in range(n_steps): step()
    res['model alone, channels_last memory format'] = n_steps * BS / t.s

    flops = train_flops_per_image(small_cnn(len(vocab)))
    peak = max(peak0, matmul_gflops())   # best of before and after the runs: this CPU's clock varies from run to run
    limit = peak * 1e9 / flops
    tab = pd.DataFrame({'images/s': res})
    tab['GFLOP/s'] = tab['images/s'] * flops / 1e9
    tab['% of matmul limit'] = 100 * tab['images/s'] / limit
    tab.index.name = 'recipe'
    lib_ips, fb_ips = tab['images/s'].iloc[0], tab['images/s'].iloc[3]
    ratio, pct = lib_ips / fb_ips, tab['% of matmul limit'].iloc[0]
    body = (f"small_cnn ({sum(p.numel() for p in small_cnn(len(vocab)).parameters()):,} parameters, {len(vocab)} outputs) at "
            f"{SIZE} px, batch {BS}, AdamW one-cycle lr {LR}; {n_train} training images; {epochs} timed epochs after 1 warm-up.\n"
            f"Forward+backward: {flops/1e6:.1f} MFLOP per image (torch.utils.flop_counter). "
            f"Float32 2048x2048 matmul on this CPU: {peak:.0f} GFLOP/s, so the limit is {limit:.0f} images/s.\n\n"
            f"{md_table(tab.round(1), '.1f')}\n\n"
            f"- Library / fastbook throughput: **{ratio:.2f}x** (target at least 1.0x: {'met' if ratio >= 1 else f'missed by {100*(1-ratio):.0f}%'}).\n"
            f"- Library at **{pct:.0f}%** of the matmul limit (target 60%: {'met' if pct >= 60 else f'missed by {60-pct:.0f} points'}).")
    append_results('Training throughput', f'built-in digits (make_digits defaults: {n_train} train / {int(df.is_valid.sum())} valid, {SIZE} px PNG)', body)

if __name__ == '__main__': main()

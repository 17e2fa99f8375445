# PyTorch's side of bench_json's `ce_probs` and `focal_g2_smooth` cases:
# CPU, 1 thread, f32, forward + backward of cross-entropy with probability
# targets (F.cross_entropy) and of focal loss (gamma 2) with label smoothing
# 0.1 composed from ops, at bench_json's shapes; median of 7 per shape.
# Compare with `cargo run --release --example bench_json -- 7 f32` on the
# same machine. Run: /tmp/ref/bin/python scripts/bench_soft_vs_pytorch.py
# (a venv with torch; see README). Not part of CI.
import time, torch, torch.nn.functional as F
torch.set_num_threads(1)
def med(f, reps=7):
    ts=[]
    for _ in range(reps):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    ts.sort(); return ts[len(ts)//2]*1e3
for shape in [(65536,4),(65536,10),(16384,100),(4096,1000),(8,19,128,128)]:
    g=torch.Generator().manual_seed(0)
    x=(torch.rand(shape,generator=g)*8-4).requires_grad_()
    c=shape[1]
    p=torch.rand(shape,generator=g); p=p/p.sum(1,keepdim=True)
    tshape=(shape[0],)+tuple(shape[2:])
    t=torch.randint(0,c,tshape,generator=g)
    def ce_probs():
        x.grad=None; F.cross_entropy(x,p).backward()
    def focal_smooth():
        x.grad=None
        lp=F.log_softmax(x,1); q=(1-lp.exp()).pow(2)
        eps=0.1; oh=F.one_hot(t,c).movedim(-1,1).to(x.dtype)
        tp=(1-eps)*oh+eps/c
        (-(tp*q*lp).sum(1)).mean().backward()
    print(shape, f"ce_probs {med(ce_probs):.2f} ms  focal_g2_smooth {med(focal_smooth):.2f} ms", flush=True)

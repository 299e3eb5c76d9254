# Writes calibration and evaluation sets for `tern quantize` in the backend-test layout from
# Fashion-MNIST (Debian dataset-fashion-mnist): calib/ = 8 sets of 64 training images,
# eval/ = 4 sets of 64 test images, each input_0.pb a float [64,1,28,28] of pixels / 255.
# Usage: python3 scripts/fmnist_sets.py INPUT_NAME   (writes ./calib and ./eval)
import gzip, os, struct, sys
def varint(n):
    out = b''
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])
def tensor(name, dims, floats_bytes):
    m = b''.join(b'\x08' + varint(d) for d in dims)
    m += b'\x10' + varint(1)
    m += b'\x42' + varint(len(name)) + name.encode()
    m += b'\x4a' + varint(len(floats_bytes)) + floats_bytes
    return m
def sets(images, out, start, count, per, name):
    raw = gzip.open(images).read()[16:]
    for s in range(count):
        d = os.path.join(out, 'test_data_set_%d' % s); os.makedirs(d, exist_ok=True)
        px = raw[(start + s * per) * 784:(start + (s + 1) * per) * 784]
        fb = struct.pack('<%df' % len(px), *[p / 255.0 for p in px])
        open(os.path.join(d, 'input_0.pb'), 'wb').write(tensor(name, [per, 1, 28, 28], fb))
D = '/usr/share/datasets/fashion-mnist'
name = sys.argv[1]
sets(D + '/train-images-idx3-ubyte.gz', 'calib', 0, 8, 64, name)
sets(D + '/t10k-images-idx3-ubyte.gz', 'eval', 0, 4, 64, name)

// Prints compiler/linker settings for binding.gyp: libtorch from $LIBTORCH (an official libtorch
// distribution, CPU or CUDA) or, when unset, Debian's libtorch-dev in the standard system paths.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export function findLibtorch() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = path.join(root, 'include');
    const lib = path.join(root, 'lib');
    if (!existsSync(path.join(include, 'ATen', 'ATen.h'))) return { error: `LIBTORCH=${root}: no include/ATen/ATen.h there` };
    return { include: [include, path.join(include, 'torch', 'csrc', 'api', 'include')], lib, rpath: true };
  }
  for (const lib of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib']) {
    if (existsSync(path.join(lib, 'libtorch_cpu.so')) || existsSync(path.join(lib, 'libtorch.so'))) {
      for (const inc of ['/usr/include', '/usr/local/include']) {
        if (existsSync(path.join(inc, 'ATen', 'ATen.h'))) return { include: [inc], lib, rpath: false };
      }
    }
  }
  return { error: 'libtorch not found: install Debian/Ubuntu libtorch-dev, or set LIBTORCH=/path/to/libtorch' };
}

function cxx11Abi(lib) {
  if (process.env.PLUMAGE_TORCH_CXX11_ABI) return process.env.PLUMAGE_TORCH_CXX11_ABI;
  try {
    const out = execFileSync('nm', ['-D', '--defined-only', path.join(lib, 'libc10.so')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return out.includes('__cxx11') ? '1' : '0';
  } catch {
    return '1';
  }
}

const cfg = findLibtorch();
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const what = process.argv[2];
  if (cfg.error) {
    console.error(cfg.error);
    process.exit(1);
  }
  const libs = ['c10', 'torch_cpu', 'torch'];
  if (cfg.lib && readdirSync(cfg.lib).some((f) => f.startsWith('libtorch_cuda.so'))) libs.push('torch_cuda', 'c10_cuda');
  if (what === 'include') console.log(cfg.include.join(' '));
  else if (what === 'defines') console.log(`_GLIBCXX_USE_CXX11_ABI=${cxx11Abi(cfg.lib)}`);
  else if (what === 'libs') console.log([`-L${cfg.lib}`, ...libs.map((l) => `-l${l}`)].join(' '));
  else if (what === 'ldflags') console.log(['-Wl,--no-as-needed', ...(cfg.rpath ? [`-Wl,-rpath,${cfg.lib}`] : [])].join(' '));
  else console.log(JSON.stringify(cfg));
}

const fs = require('fs');
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pk = lock.packages;
let added = 0;
const osOf = (n) => ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'].find((o) => n.includes(o));
const cpuOf = (n) => {
  for (const [k, v] of [['x64', 'x64'], ['arm64', 'arm64'], ['aarch64', 'arm64'], ['ia32', 'ia32'], ['s390x', 's390x'], ['ppc64', 'ppc64'], ['riscv64', 'riscv64'], ['loong64', 'loong64'], ['arm-', 'arm'], ['armv7', 'arm'], ['-arm', 'arm'], ['wasm32', 'wasm32']]) if (n.includes(k)) return v;
  return undefined;
};
for (const [path, meta] of Object.entries(pk)) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies || {})) {
    const base = path ? `${path}/node_modules/${dep}` : `node_modules/${dep}`;
    if (pk[base] || pk[`node_modules/${dep}`]) continue;
    const short = dep.split('/').pop();
    const entry = { version: range.replace(/^[\^~=]/, ''), optional: true };
    if (meta.dev) entry.dev = true;
    const os = osOf(short), cpu = cpuOf(short);
    if (os) entry.os = [os];
    if (cpu) entry.cpu = [cpu];
    if (/musl/.test(short)) entry.libc = ['musl'];
    else if (/gnu/.test(short) && os === 'linux') entry.libc = ['glibc'];
    pk[`node_modules/${dep}`] = entry;
    added++;
  }
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log('added', added);

// Builds dist/ from src/: one bundled script (the console and Chart.js), its
// style sheet, the page, and the licences of the bundled packages. dist/ is
// committed and embedded in the Go binary (console.go); CI rebuilds it and
// fails when the result differs from what is committed.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

await build({
  entryPoints: ['src/app.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outfile: 'dist/app.js',
  loader: { '.graphql': 'text' },
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: ['src/app.css'],
  bundle: true,
  minify: true,
  outfile: 'dist/app.css',
  logLevel: 'warning',
});
copyFileSync('src/index.html', 'dist/index.html');
copyFileSync('src/favicon.svg', 'dist/favicon.svg');

// The licences of every package bundled into app.js, as their authors ship them.
const bundled = ['chart.js', '@kurkle/color'];
let notices = 'Third-party software bundled into app.js, with the licences its authors ship.\n';
for (const name of bundled) {
  const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8'));
  const licence = readFileSync(`node_modules/${name}/LICENSE.md`, 'utf8');
  notices += `\n==== ${name} ${pkg.version} (${pkg.license}) ====\n\n${licence.trim()}\n`;
}
writeFileSync('dist/THIRD_PARTY_LICENSES.txt', notices);

// npm test's pretest: make sure there is a CredVault server binary for the suite. With
// CREDVAULT_BIN set it must exist; otherwise build one from the repository root into
// sdk/js/.cache/credvault (go build is incremental: quick when nothing changed).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUILT_BIN, REPO_ROOT } from './server.mjs';

const bin = process.env.CREDVAULT_BIN;
if (bin) {
  if (!existsSync(bin)) {
    console.error(`CREDVAULT_BIN=${bin} does not exist`);
    process.exit(1);
  }
  console.log(`server binary: ${bin} (CREDVAULT_BIN)`);
} else {
  mkdirSync(dirname(BUILT_BIN), { recursive: true });
  console.log(`building the server: go build -o ${BUILT_BIN} . (in ${REPO_ROOT})`);
  execFileSync('go', ['build', '-o', BUILT_BIN, '.'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

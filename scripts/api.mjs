#!/usr/bin/env node
/**
 * The public API report (`npm run api`): runs Microsoft's API Extractor on the built declarations of
 * the package's entries (`ossify` = dist/index.d.ts, `ossify/node` = dist/node.d.ts) and writes
 * api/ossify.api.md and api/ossify-node.api.md. `ossify/internals` is unstable and not reported.
 *
 * `node scripts/api.mjs --check` (scripts/test.sh, after the build) compares instead of writing and
 * fails when a report differs: the public API changed without the report being updated and committed.
 * Needs a build first (`npm run build:lib`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const reportFolder = join(root, 'api');
const tempFolder = join(root, 'node_modules', '.cache', 'ossify-api');

/** Entry (as users import it), its declaration file in dist, and its report's name. */
const ENTRIES = [
  { name: 'ossify', dts: 'dist/index.d.ts', report: 'ossify.api.md' },
  { name: 'ossify/node', dts: 'dist/node.d.ts', report: 'ossify-node.api.md' },
];

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(reportFolder, { recursive: true });
mkdirSync(tempFolder, { recursive: true });
const changed = [];
let failed = false;
for (const e of ENTRIES) {
  const dts = join(root, e.dts);
  if (!existsSync(dts)) {
    console.error(`api: ${e.dts} is missing: build first (npm run build:lib)`);
    process.exit(2);
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: dts,
      bundledPackages: [],
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'Bundler',
            lib: ['ES2022', 'DOM'],
            types: ['@webgpu/types', 'node'],
            strict: true,
            skipLibCheck: true,
          },
          files: [dts],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: e.report,
        reportFolder,
        reportTempFolder: tempFolder,
        includeForgottenExports: false,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning', addToApiReportFile: true },
          // No release tags (@public, @beta): what an entry exports is public; internals have their own entry.
          'ae-missing-release-tag': { logLevel: 'none', addToApiReportFile: false },
          // Members without TSDoc and links to what an entry does not export are not API changes (typedoc,
          // `npm run docs`, lists the links); their lines would name built files and line numbers.
          'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
          'ae-unresolved-link': { logLevel: 'none', addToApiReportFile: false },
        },
        tsdocMessageReporting: { default: { logLevel: 'none', addToApiReportFile: false } },
      },
    },
    configObjectFullPath: join(root, 'api', 'api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
    packageJson: { ...pkg, name: e.name.replace('/', '-') },
  });
  const result = Extractor.invoke(config, {
    localBuild: !check,
    showVerboseMessages: false,
    messageCallback: (m) => {
      // Findings go into the report (and so into review); the console gets errors only.
      if (
        m.logLevel === ExtractorLogLevel.Warning ||
        m.logLevel === ExtractorLogLevel.Info ||
        m.logLevel === ExtractorLogLevel.Verbose
      )
        m.handled = true;
      if (m.text.includes('You have changed the API signature') || m.text.includes('The API report file was missing'))
        m.handled = true;
    },
  });
  if (result.apiReportChanged) changed.push(e);
  if (result.errorCount > 0) failed = true;
  console.log(
    `api: ${e.name} -> ` +
      `api/${e.report}${result.apiReportChanged ? (check ? ' (differs)' : ' (updated)') : ' (unchanged)'}`,
  );
}
if (check && changed.length > 0) {
  for (const e of changed) {
    const fresh = join(tempFolder, e.report);
    const diff =
      spawnSync('diff', ['-u', `api/${e.report}`, relative(root, fresh)], { cwd: root, encoding: 'utf8' }).stdout ?? '';
    const lines = diff.split('\n');
    if (lines.length > 1)
      console.error(
        `\n${lines.slice(0, 80).join('\n')}${lines.length > 80 ? `\n... (${lines.length - 80} more lines)` : ''}`,
      );
    console.error(
      `\nthe public API changed: run npm run api and commit api/${e.report} (the ${e.name} entry; its new ` +
        `report is ${relative(root, fresh)})`,
    );
  }
  process.exit(1);
}
if (failed) process.exit(1);

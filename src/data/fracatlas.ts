/**
 * Reading a FracAtlas folder as published (or any folder in the same layout):
 * ```
 * images/Fractured/<id>.jpg        label 1
 * images/Non_fractured/<id>.jpg    label 0
 * dataset.csv                      optional: image_id, ..., fractured, ...
 * splits/train.csv, val.csv, test.csv   optional: image_id[, fractured]
 * Utilities/Fracture Split/train.csv, valid.csv, test.csv   optional (original release)
 * ```
 * The folder decides the label; the CSV files are cross-checked against it. A bad image or row never throws: it is a
 * {@link DatasetIssue} in the summary (the image skipped or kept, as stated). A CSV file that cannot be parsed at all
 * throws, naming the file.
 *
 * Splits, in order of preference: `splits/*.csv` (images listed in none are reported 'unassigned' and skipped); else,
 * as the FracAtlas paper's classification setup, fractured images follow the provider's fracture split
 * (`Utilities/Fracture Split`) where present, and the rest are shuffled with a seeded generator (seed 82; mulberry32,
 * so not Python's order) and cut 80 / 11.5 / 8.5 % (train / val / test, counts rounded, test gets the rest). `assign:
 * 'test'` puts the whole folder in one split.
 * @module
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, extname, basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { inspectImage } from './images.js';
import { makeRng, shuffleInPlace } from './rng.js';

/** Dataset split name. */
export type Split = 'train' | 'val' | 'test';
/** All split names in order. */
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** One usable image. */
export interface FracRecord {
  /** The file name without extension (e.g. "IMG0000016"). */
  id: string;
  /** The image file, joined to the root given. */
  path: string;
  /** 1 = fractured, 0 = non-fractured (from the folder). */
  label: 0 | 1;
  split: Split;
}

/** Kinds of problems found while reading a dataset folder. */
export type IssueKind =
  | 'missing-file' // listed in a CSV, no image file in either folder
  | 'truncated' // JPEG ends early
  | 'corrupt' // undecodable image data
  | 'unsupported' // not an image format sharp reads
  | 'label-mismatch' // a CSV row's label disagrees with the image's folder
  | 'duplicate-id' // the same id in both image folders
  | 'not-in-csv' // an image without a dataset.csv row (kept, label from folder)
  | 'unassigned' // split files exist but list the image in none of them
  | 'split-conflict' // the image is listed in two split files
  | 'bad-row'; // a CSV row without a usable id or label

/** A problem with one image or CSV row. */
export interface DatasetIssue {
  kind: IssueKind;
  id: string;
  /** The file or CSV involved. */
  path: string;
  detail: string;
  /** 'skipped': the image is not in the records; 'kept': it is, as described. */
  action: 'skipped' | 'kept';
}

/** Per-split class counts. */
export interface ClassCounts {
  fractured: number;
  nonFractured: number;
  total: number;
}

/** Summary of a read: counts, where the split came from, and every issue. */
export interface DatasetSummary {
  root: string;
  /** Usable records. */
  total: number;
  byClass: ClassCounts;
  bySplit: Record<Split, ClassCounts>;
  /** How splits were decided. */
  splitSource: 'split-files' | 'provider-fracture-split+seeded' | 'seeded' | 'assigned';
  seed: number;
  /** Image files found in the two folders (before checks). */
  filesFound: number;
  /** Files in the image folders that are not images by extension. */
  ignoredFiles: string[];
  issues: DatasetIssue[];
  issueCounts: Partial<Record<IssueKind, number>>;
  /** Number of images and rows left out. */
  skipped: number;
}

/** A read dataset. */
export interface FracAtlasDataset {
  root: string;
  /** Records sorted by id. */
  records: FracRecord[];
  summary: DatasetSummary;
  /** Records of one split (sorted by id). */
  split(name: Split): FracRecord[];
}

/** Options of {@link readFracAtlas}. */
export interface ReadFracAtlasOptions {
  /** How to check image files: 'decode' (default, full strict decode), 'markers' (header + JPEG end marker), 'none'. */
  verify?: 'decode' | 'markers' | 'none';
  /** 'skip' (default) leaves truncated JPEGs out; 'keep' keeps them (reported), e.g. to decode them padded. */
  truncated?: 'skip' | 'keep';
  /** Seed of the split shuffle (default 82, the reference study's). */
  seed?: number;
  /** Split fractions when splitting here (default 0.8 / 0.115 / 0.085). */
  fractions?: { train: number; val: number; test: number };
  /** Put every image in this split (ignores split files). */
  assign?: Split;
  /** Images verified concurrently (default 4). */
  concurrency?: number;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);
const CLASS_DIRS: Record<string, 0 | 1> = { Fractured: 1, Non_fractured: 0 };
/** The provider's fracture split files (`Utilities/Fracture Split`). */
const PROVIDER_SPLITS: Record<string, Split> = {
  'train.csv': 'train',
  'valid.csv': 'val',
  'val.csv': 'val',
  'test.csv': 'test',
};

/** Normalizes a CSV image id ("IMG0000016.jpg" or "IMG0000016") to the record id. */
function idOf(name: string): string {
  const b = basename(name.trim());
  return IMAGE_EXT.has(extname(b).toLowerCase()) ? b.slice(0, -extname(b).length) : b;
}

function parseLabel(v: string | undefined): 0 | 1 | null {
  const s = (v ?? '').trim().toLowerCase();
  if (s === '1' || s === '1.0' || s === 'true' || s === 'fractured') return 1;
  if (s === '0' || s === '0.0' || s === 'false' || s === 'non_fractured' || s === 'non-fractured') return 0;
  return null;
}

/** An image file found in a class folder. */
interface ImageFile {
  path: string;
  label: 0 | 1;
}

interface CsvRow {
  id: string;
  label: 0 | 1 | null;
  line: number;
}

/** Records an issue (skipped unless said otherwise). */
type Report = (kind: IssueKind, id: string, path: string, detail: string, action?: DatasetIssue['action']) => void;

async function readCsv(path: string, report: Report): Promise<CsvRow[]> {
  // A CSV that cannot be read at all is not one bad row: throw, naming the file and the fix.
  const unreadableCsv = (reason: string): Error =>
    new Error(
      `ossify: ${path} is not a readable CSV file (${reason}); ` +
        'fix it (a header row with image_id and, optionally, fractured) or remove it',
    );
  const text = await readFile(path, 'utf8');
  // Control characters other than tabs and line ends do not occur in text.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) throw unreadableCsv('it holds binary data, not text');
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true });
  } catch (e) {
    // The parser's reason, cut short and stripped of unprintable bytes.
    const reason = (e as Error).message.split(',')[0]!;
    throw unreadableCsv(reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 120));
  }
  const out: CsvRow[] = [];
  rows.forEach((r, i) => {
    const keys = Object.keys(r);
    const idKey = keys.find((k) => k.toLowerCase() === 'image_id') ?? keys[0];
    const labelKey = keys.find((k) => k.toLowerCase() === 'fractured');
    const raw = idKey ? r[idKey] : undefined;
    const label = labelKey ? parseLabel(r[labelKey]) : null;
    if (!raw) report('bad-row', '', path, `row ${i + 2}: no image id`);
    else if (labelKey && label === null)
      report('bad-row', idOf(raw), path, `row ${i + 2}: fractured='${r[labelKey]}' is not 0/1`);
    else out.push({ id: idOf(raw), label, line: i + 2 });
  });
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, work));
  return out;
}

/** Cuts a list into train/val/test by fractions after a seeded shuffle (counts rounded, test gets the rest). */
export function seededSplit<T>(
  items: readonly T[],
  seed: number,
  fractions = { train: 0.8, val: 0.115, test: 0.085 },
): Record<Split, T[]> {
  const sum = fractions.train + fractions.val + fractions.test;
  const shuffled = shuffleInPlace([...items], makeRng(seed));
  const nTrain = Math.round((items.length * fractions.train) / sum);
  const nVal = Math.min(items.length - nTrain, Math.round((items.length * fractions.val) / sum));
  return {
    train: shuffled.slice(0, nTrain),
    val: shuffled.slice(nTrain, nTrain + nVal),
    test: shuffled.slice(nTrain + nVal),
  };
}

/**
 * Reads a FracAtlas-layout folder into typed records with splits, checking every file; never throws for bad images or
 * rows (only for a root without `images/` or a CSV file that cannot be parsed).
 */
export async function readFracAtlas(root: string, opts: ReadFracAtlasOptions = {}): Promise<FracAtlasDataset> {
  const seed = opts.seed ?? 82;
  const verify = opts.verify ?? 'decode';
  const issues: DatasetIssue[] = [];
  const report: Report = (kind, id, path, detail, action = 'skipped') =>
    issues.push({ kind, id, path, detail, action });
  const ignoredFiles: string[] = [];
  if (!existsSync(join(root, 'images'))) throw new Error(`readFracAtlas: ${root} has no images/ folder`);

  // 1. Image files; the folder is the label.
  const files = new Map<string, ImageFile>();
  const dupes = new Set<string>();
  for (const [dir, label] of Object.entries(CLASS_DIRS)) {
    const full = join(root, 'images', dir);
    if (!existsSync(full)) continue;
    for (const name of (await readdir(full)).sort()) {
      const path = join(full, name);
      const id = idOf(name);
      const prev = files.get(id);
      if (!IMAGE_EXT.has(extname(name).toLowerCase())) ignoredFiles.push(path);
      else if (prev) {
        dupes.add(id);
        report('duplicate-id', id, path, `also at ${prev.path}`);
      } else files.set(id, { path, label });
    }
  }
  // Every image file is in `files` or a reported duplicate.
  const filesFound = files.size + issues.filter((i) => i.kind === 'duplicate-id').length;
  for (const id of dupes) files.delete(id);

  /** The image of a CSV row whose label agrees with its folder; a missing image or another label is reported. */
  const imageOf = (row: CsvRow, csv: string): ImageFile | undefined => {
    const f = files.get(row.id);
    const where = `${basename(csv)} row ${row.line}`;
    if (f && (row.label === null || row.label === f.label)) return f;
    if (f) report('label-mismatch', row.id, f.path, `${where} says fractured=${row.label}, folder says ${f.label}`);
    // Reported once: not again when already missing, and not at all when a duplicate or mislabelled (a bad row
    // or not-in-csv says nothing of the file).
    else if (
      !issues.some((i) => i.id === row.id && ['duplicate-id', 'label-mismatch', 'missing-file'].includes(i.kind))
    ) {
      report('missing-file', row.id, csv, `${where} has no image in images/Fractured or images/Non_fractured`);
    }
    return undefined;
  };

  // 2. dataset.csv cross-check.
  const datasetCsv = join(root, 'dataset.csv');
  if (existsSync(datasetCsv)) {
    const rows = await readCsv(datasetCsv, report);
    for (const row of rows) if (!imageOf(row, datasetCsv)) files.delete(row.id);
    const listed = new Set(rows.map((r) => r.id));
    for (const [id, f] of files) {
      if (!listed.has(id)) report('not-in-csv', id, f.path, 'no dataset.csv row; label taken from the folder', 'kept');
    }
  }

  // 3. Splits.
  const splitOf = new Map<string, Split>();
  let splitSource: DatasetSummary['splitSource'];
  const splitFiles = SPLITS.map((s) => [s, join(root, 'splits', `${s}.csv`)] as const).filter(([, p]) => existsSync(p));
  if (opts.assign) {
    splitSource = 'assigned';
    for (const id of files.keys()) splitOf.set(id, opts.assign);
  } else if (splitFiles.length > 0) {
    splitSource = 'split-files';
    // Images with a mislabelled row or in two split files are left out.
    const conflicts = new Set<string>();
    for (const [split, path] of splitFiles) {
      for (const row of await readCsv(path, report)) {
        const prev = splitOf.get(row.id);
        if (!imageOf(row, path)) conflicts.add(row.id);
        else {
          if (prev && prev !== split) {
            report('split-conflict', row.id, files.get(row.id)!.path, `listed in ${prev}.csv and ${split}.csv`);
            conflicts.add(row.id);
          }
          splitOf.set(row.id, split);
        }
      }
    }
    for (const [id, f] of files) {
      if (conflicts.has(id)) files.delete(id);
      else if (!splitOf.has(id)) {
        report('unassigned', id, f.path, 'listed in no splits/*.csv');
        files.delete(id);
      }
    }
  } else {
    const providerDir = join(root, 'Utilities', 'Fracture Split');
    const present = Object.keys(PROVIDER_SPLITS).filter((f) => existsSync(join(providerDir, f)));
    splitSource = present.length > 0 ? 'provider-fracture-split+seeded' : 'seeded';
    for (const name of present) {
      for (const row of await readCsv(join(providerDir, name), report)) {
        const f = files.get(row.id);
        // The provider lists may cover images absent from this copy.
        if (f?.label === 1) splitOf.set(row.id, PROVIDER_SPLITS[name]!);
        else if (f)
          report('label-mismatch', row.id, f.path, `in the provider's fracture split but in Non_fractured`, 'kept');
      }
    }
    // The images the provider did not place are cut in the same proportions, each class with its own seed.
    for (const label of [0, 1]) {
      const unplaced = [...files].filter(([id, f]) => f.label === label && !splitOf.has(id)).map(([id]) => id);
      const parts = seededSplit(unplaced.sort(), seed + label, opts.fractions);
      for (const split of SPLITS) for (const id of parts[split]) splitOf.set(id, split);
    }
  }

  // 4. Verify image files.
  const candidates = [...files].sort(([a], [b]) => (a < b ? -1 : 1)); // ids are unique
  const records: FracRecord[] = [];
  const checks =
    verify === 'none'
      ? candidates.map(() => ({ ok: true }) as const)
      : await mapLimit(candidates, opts.concurrency ?? 4, ([, f]) => inspectImage(f.path, verify));
  candidates.forEach(([id, f], i) => {
    const c = checks[i]!;
    const keep = c.ok || (c.kind === 'truncated' && opts.truncated === 'keep');
    if (!c.ok) report(c.kind, id, f.path, c.detail, keep ? 'kept' : 'skipped');
    if (keep) records.push({ id, path: f.path, label: f.label, split: splitOf.get(id)! });
  });

  const counts = (rs: FracRecord[]): ClassCounts => {
    const fractured = rs.filter((r) => r.label === 1).length;
    return { fractured, nonFractured: rs.length - fractured, total: rs.length };
  };
  const split = (name: Split): FracRecord[] => records.filter((r) => r.split === name);
  const issueCounts: Partial<Record<IssueKind, number>> = {};
  for (const i of issues) issueCounts[i.kind] = (issueCounts[i.kind] ?? 0) + 1;
  const summary: DatasetSummary = {
    root,
    total: records.length,
    byClass: counts(records),
    bySplit: { train: counts(split('train')), val: counts(split('val')), test: counts(split('test')) },
    splitSource,
    seed,
    filesFound,
    ignoredFiles,
    issues,
    issueCounts,
    skipped: issues.filter((i) => i.action === 'skipped').length,
  };
  return { root, records, summary, split };
}

/** One-line-per-item human summary of a read (counts per split, then each issue by name). */
export function formatDatasetSummary(s: DatasetSummary): string {
  const classes = (c: ClassCounts): string => `${c.fractured} fractured, ${c.nonFractured} non-fractured`;
  const lines = [`FracAtlas folder ${s.root}: ${s.total} images (${classes(s.byClass)}), splits from ${s.splitSource}`];
  for (const split of SPLITS) {
    const c = s.bySplit[split];
    if (c.total > 0) lines.push(`  ${split}: ${c.total} (${classes(c)})`);
  }
  if (s.issues.length > 0) {
    const counts = Object.entries(s.issueCounts).map(([k, n]) => `${k} ${n}`);
    lines.push(`  ${s.issues.length} issue(s), ${s.skipped} skipped: ${counts.join(', ')}`);
    for (const i of s.issues) lines.push(`    [${i.kind}, ${i.action}] ${i.id || '(no id)'}: ${i.detail} (${i.path})`);
  }
  return lines.join('\n');
}

import { type Command, InvalidArgumentError } from 'commander';
import { systemClock } from '../lib/clock.js';
import type { StoreAudit, StoreInvariant } from '../stores/store.js';
import { addStoreOptions, resolveCliSettings, type StoreOptions, withStore } from './cli-settings.js';

/** Offenders listed per invariant unless `--sample` says otherwise. */
export const DEFAULT_DOCTOR_SAMPLE = 10;
/** Largest `--sample`: the list is for a first look, the ids of the rest are one query away. */
export const MAX_DOCTOR_SAMPLE = 1000;

interface DoctorOptions extends StoreOptions {
  sample: number;
  json: boolean;
}

/** What each invariant means, in the report's words; the counted unit first. */
const INVARIANTS: Record<StoreInvariant, { unit: string; text: string }> = {
  'several-current-tokens': { unit: 'family', text: 'families with more than one current (live) token' },
  'missing-successor': { unit: 'record', text: 'rotated, still valid records whose successor record is missing' },
  'live-past-family-deadline': { unit: 'record', text: 'live records past their family deadline (maxSessionLifetime)' },
};

/**
 * `jwt-refresh doctor [--sample N] [--json]`: scans the store for broken
 * invariants (docs/stores.md, "Store invariants") with the store's own
 * `audit`, which reads only and keeps memory bounded, and prints a report:
 * per invariant a count and the ids of the first offenders (family and record
 * ids, never a token or a hash). Exit 0 when the store is consistent, 1 when
 * something is broken (or the store cannot be read), 2 for a wrong command line.
 */
export function registerDoctor(program: Command): void {
  addStoreOptions(
    program
      .command('doctor')
      .description('check the store for broken invariants (two current tokens in a family, a missing successor, ...)')
      .option('--sample <n>', `offender ids listed per invariant, 0 to ${MAX_DOCTOR_SAMPLE}`, parseSample, DEFAULT_DOCTOR_SAMPLE)
      .option('--json', 'print the report as JSON', false),
  ).action(async (options: DoctorOptions) => {
    const settings = resolveCliSettings(options, process.env);
    const now = systemClock();
    const { audit, records } = await withStore(settings, options, async (store) => {
      // The total is context for the reader; the audit does not depend on it.
      const total = await store.count();
      return { records: total, audit: await store.audit(now, { sampleSize: options.sample }) };
    });
    const violations = Object.values(audit).reduce((sum, finding) => sum + finding.count, 0);
    process.stdout.write(
      options.json
        ? `${JSON.stringify(toJson(audit, now, records, violations), null, 2)}\n`
        : formatReport(audit, now, records, violations),
    );
    if (violations > 0) process.exitCode = 1;
  });
}

function parseSample(value: string): number {
  const sample = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(sample) || sample > MAX_DOCTOR_SAMPLE) {
    throw new InvalidArgumentError(`expected an integer from 0 to ${MAX_DOCTOR_SAMPLE}.`);
  }
  return sample;
}

function toJson(audit: StoreAudit, now: Date, records: number, violations: number): Record<string, unknown> {
  return { checkedAt: now.toISOString(), records, clean: violations === 0, violations, invariants: audit };
}

function formatReport(audit: StoreAudit, now: Date, records: number, violations: number): string {
  const lines = [`Checked ${records} refresh token record(s) at ${now.toISOString()}`];
  for (const [invariant, { text }] of Object.entries(INVARIANTS) as Array<[StoreInvariant, { unit: string; text: string }]>) {
    const finding = audit[invariant];
    lines.push(`${finding.count === 0 ? 'ok  ' : 'FAIL'}  ${invariant}: ${finding.count} ${text}`);
    for (const offender of finding.sample) {
      lines.push(
        `        family ${printable(offender.familyId)}${offender.recordId === null ? '' : `  record ${printable(offender.recordId)}`}`,
      );
    }
    if (finding.count > finding.sample.length && finding.sample.length > 0)
      lines.push(`        ... and ${finding.count - finding.sample.length} more`);
  }
  lines.push(
    violations === 0
      ? 'Store is consistent'
      : `Found ${violations} violation(s); \`jwt-refresh revoke --family ID\` ends an affected session (see docs/stores.md, "Store invariants")`,
  );
  return lines.map((line) => `${line}\n`).join('');
}

/** Ids come from the store; control characters (an escape sequence could rewrite the terminal) are shown as `?`. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

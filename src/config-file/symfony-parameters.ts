import { type Context, optionProblem } from './reading-context.js';

const PARAMETER = /%%|%([^%\s]+)%/g;
const WHOLE_ENV = /^%env\(([^()%\s]+)\)%$/;
const ENV_PARAMETER = /^env\(([^()%\s]+)\)$/;

/**
 * Symfony's parameter syntax: `%name%` is a parameter, `%%` a literal `%`.
 * A value that is one `%env()%` keeps the processor's type (e.g. `int:`).
 */
export function resolveParameters(ctx: Context, value: string, source: string, allowEnv: boolean): unknown {
  if (!value.includes('%')) return value;
  const whole = allowEnv ? WHOLE_ENV.exec(value) : null;
  if (whole?.[1] !== undefined) return resolveEnv(ctx, whole[1], source);

  return value.replace(PARAMETER, (_match, name: string | undefined) => {
    if (name === undefined) return '%';
    if (name === 'kernel.project_dir') return ctx.projectDir;
    const env = allowEnv ? ENV_PARAMETER.exec(name)?.[1] : undefined;
    if (env !== undefined) return String(resolveEnv(ctx, env, source));
    // The name is not quoted: for a raw secret it would be a piece of the secret.
    return optionProblem(
      `${source}: a Symfony parameter in it cannot be resolved; only %kernel.project_dir% and %env(...)% are supported (write %% for a literal %)`,
    );
  });
}

/** `%env(processor:...:NAME)%`: processors apply from the one next to the name outwards, as in Symfony. */
function resolveEnv(ctx: Context, expression: string, source: string): unknown {
  const processors = expression.split(':');
  const name = processors.pop() ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) optionProblem(`${source}: "${name}" is not an environment variable name`);
  const raw = ctx.env[name];
  if (raw === undefined) optionProblem(`${source}: environment variable ${name} is not set`);
  ctx.environmentRead.add(name);

  let value: unknown = raw;
  for (const processor of processors.reverse()) {
    const text = String(value);
    switch (processor) {
      case 'string':
        value = text;
        break;
      case 'resolve':
        // Only parameters, not further %env()%, as Symfony resolves container parameters here.
        value = resolveParameters(ctx, text, source, false);
        break;
      case 'int':
        if (!/^-?\d+$/.test(text.trim())) optionProblem(`${source}: environment variable ${name} is not an integer`);
        value = Number(text.trim());
        break;
      case 'bool': {
        // Symfony: FILTER_VALIDATE_BOOL, else any non-zero number, else false.
        const flag = text.trim().toLowerCase();
        const number = Number(flag);
        value = ['1', 'true', 'on', 'yes'].includes(flag) || (flag !== '' && !Number.isNaN(number) && number !== 0);
        break;
      }
      default:
        optionProblem(`${source}: env processor "${processor}" is not supported (use resolve, int, bool or string)`);
    }
  }
  return value;
}

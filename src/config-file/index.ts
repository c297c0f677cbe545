/**
 * `jwt-refresh/config-file`: the config-file reader (YAML or JSON, with the
 * gesdinet and Lexik bundles' sections verbatim), kept out of the root entry
 * point so that `import 'jwt-refresh'` loads neither `yaml` nor `node:fs`.
 */
export { loadConfigFile, loadConfigFileWithWarnings, type LoadConfigFileOptions, type LoadedConfigFile } from './load-config-file.js';

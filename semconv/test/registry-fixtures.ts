export { componentContracts } from '../index.ts';
export { loadRegistryDir, parseRegistry, RegistryError, REGISTRY_DIR as REGISTRY_DIR_FOR_TESTS } from '../load.ts';

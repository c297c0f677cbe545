import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle } from '../conformance/store-lifecycle.suite.js';
import { createMemoryStore } from '../../src/stores/memory.js';

runStoreConformance('memory', async () => {
  const store = createMemoryStore();
  return {
    store,
    // The memory store's state is its records; spread them into plain rows for the suite's cell checks.
    rawRows: async () => store.snapshot().map((record) => ({ ...record })),
    cleanup: () => store.close(),
  };
});

// No table, no connection, no schema: of the lifecycle, only "no migrations" applies.
runStoreLifecycle('memory', { create: () => createMemoryStore() });

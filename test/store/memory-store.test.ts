import { MemoryStore } from '../../src/store/memory.js';
import { storeContract } from './contract.js';
import { storeContractV1 } from './contract-v1.js';

storeContract('memory', async (limits) => new MemoryStore(limits));
storeContractV1('memory', async (limits) => new MemoryStore(limits));

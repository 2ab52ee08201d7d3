import { beitConfigFromHf, buildBeit } from '../../src/models/beit.js';
import { registerParityTests } from './parity.js';

registerParityTests('beit', (config) => buildBeit(beitConfigFromHf(config), { outputs: 'all', normalize: 'none' }));

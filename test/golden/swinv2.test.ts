import { buildSwinv2, swinv2ConfigFromHf } from '../../src/models/swinv2.js';
import { registerParityTests } from './parity.js';

registerParityTests('swinv2', (config) => buildSwinv2(swinv2ConfigFromHf(config), { outputs: 'all', normalize: 'none' }));

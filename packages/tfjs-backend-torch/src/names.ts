export const BACKEND = 'torch';

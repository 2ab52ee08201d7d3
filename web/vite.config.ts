import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Two pages (classify, runs), everything bundled: no CDN at run time. Served by `plumage serve` from web/dist.
export default defineConfig({
  root: __dirname,
  base: '/',
  build: {
    outDir: resolve(__dirname, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    rollupOptions: { input: { index: resolve(__dirname, 'index.html'), runs: resolve(__dirname, 'runs.html') } },
  },
  server: { fs: { allow: [resolve(__dirname, '..')] } },
});

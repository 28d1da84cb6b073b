import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri shell serves ui/dist (the tablet app, index.html) and beibao-server its console
// (console.html); nothing is fetched from elsewhere (no CDN, no web fonts).
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  // Relative asset paths: the same build is served by the Tauri shell at `/` and by
  // beibao-server under `/console/`. Two pages: the tablet app and the web console.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    sourcemap: false,
    rolldownOptions: { input: { app: 'index.html', console: 'console.html' } },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});

import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri shell serves ui/dist; nothing is fetched from elsewhere (no CDN, no web fonts).
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: { outDir: 'dist', emptyOutDir: true, target: 'safari15', sourcemap: false },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});

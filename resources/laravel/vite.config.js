import { defineConfig } from 'vite';

// Plain Vite 5 (runs on Debian bookworm's Node 18): no laravel-vite-plugin.
// Output goes to public/build with a manifest that app/Support/Vite.php reads
// (Vite 5 writes it to public/build/.vite/manifest.json).
export default defineConfig({
  base: '/build/',
  publicDir: false,
  build: {
    outDir: 'public/build',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: {
      input: ['resources/js/app.js', 'resources/css/app.css'],
    },
  },
});

import { defineConfig } from 'vite';

// Plain Vite 5 (runs on Debian bookworm's Node 18): no laravel-vite-plugin.
// Output goes to public/build with a manifest that app/Support/Vite.php reads
// (Vite 5 writes it to public/build/.vite/manifest.json).
export default defineConfig(({ command }) => ({
  // Built files live under /build/. The dev server serves from its root, as
  // laravel-vite-plugin's does, so public/hot's URL plus an entry's path is
  // that entry's URL.
  base: command === 'build' ? '/build/' : '/',
  publicDir: false,
  server: {
    // The dev server's URL as the browser reaches it (`invoke dev --hot`
    // publishes it on 127.0.0.1), so the asset URLs Vite writes point there
    // and not at nginx.
    origin: process.env.VITE_DEV_SERVER_URL,
  },
  build: {
    outDir: 'public/build',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: {
      input: ['resources/js/app.js', 'resources/css/app.css'],
    },
  },
}));

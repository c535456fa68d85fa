import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The FastAPI backend serves web/dist at `/`; during `npm run dev` API calls
// are proxied to it (override with PARLEY_BACKEND=http://host:port).
const backend = process.env.PARLEY_BACKEND ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': { target: backend, changeOrigin: true } },
  },
});

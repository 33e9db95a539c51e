// Vite builds the client into dist/ (served by the Python server at /). `npm run dev` serves it
// with hot reload and forwards /api and /socket.io to a running Rapport (RAPPORT_URL, default
// http://127.0.0.1:8000), presenting the backend's own origin so its same-origin check passes.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const backend = process.env.RAPPORT_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: true },
      "/socket.io": {
        target: backend,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on("proxyReqWs", (req) => req.setHeader("origin", backend));
          proxy.on("proxyReq", (req) => req.setHeader("origin", backend));
        },
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});

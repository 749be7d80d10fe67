FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Not `npm ci`: the lock may lack other platforms' optional packages (biome's binaries) when it was
# written against a registry that serves only some; `npm ci` then refuses, `npm install` fills them in.
RUN npm install --no-audit --no-fund
COPY . .
CMD ["npm", "start"]

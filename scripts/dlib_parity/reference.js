// face-api.js's face descriptors of raw pictures, the reference for tests/test_dlib_resnet.py.
//
// usage: node reference.js INPUT.u8 N OUTPUT.f32 [INFO.json]
//   INPUT.u8: N pictures, uint8 RGB, 150x150x3 each (HWC), back to back
//   OUTPUT.f32: N x 128 float32 (little endian) descriptors
// Run by make_fixture.py; needs `npm ci` in this folder first (versions in package.json).
'use strict';

const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const SIZE = 150;

async function main() {
  const [input, n, output, infoPath] = process.argv.slice(2);
  const { tf } = faceapi;
  await tf.setBackend('cpu'); // tfjs's plain JavaScript float32 kernels
  await tf.ready();
  const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')),
    'model');
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);

  const count = Number(n);
  const pixels = fs.readFileSync(input);
  const per = SIZE * SIZE * 3;
  if (pixels.length !== count * per) throw new Error(`${input}: expected ${count * per} bytes`);
  const out = new Float32Array(count * 128);
  for (let i = 0; i < count; i += 1) {
    const data = Int32Array.from(pixels.subarray(i * per, (i + 1) * per));
    const img = tf.tensor3d(data, [SIZE, SIZE, 3], 'int32');
    // 150x150 already: toNetInput neither pads nor resizes, the net normalises it
    const desc = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(img);
    img.dispose();
    out.set(desc, i * 128);
  }
  fs.writeFileSync(output, Buffer.from(out.buffer));
  if (infoPath) {
    const pkg = (name) => JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`)))
      .version;
    const info = {
      'face-api': pkg('@vladmandic/face-api'),
      tfjs: pkg('@tensorflow/tfjs'),
      'tfjs-core': pkg('@tensorflow/tfjs-core'),
      'tfjs-backend-cpu': pkg('@tensorflow/tfjs-backend-cpu'),
      backend: tf.getBackend(),
      node: process.version,
    };
    fs.writeFileSync(infoPath, JSON.stringify(info));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

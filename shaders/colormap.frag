#version 330 core
// Turns a float image into display colours.
//   style 0 (natural): [lo, hi] -> [0, 1], gray or RGB as stored.
//   style 1 (signed): a diverging blue-white-red map, symmetric around zero, |value| = range at the ends,
//                     for noise, epsilon predictions and differences.
in vec2 uv;
out vec4 color;
uniform sampler2D image;
uniform int style;
uniform int channels;
uniform float lo;
uniform float hi;
uniform float range;

vec3 diverging(float t) {  // t in [-1, 1]
  vec3 cold = vec3(0.129, 0.400, 0.674);
  vec3 mid = vec3(0.969, 0.969, 0.969);
  vec3 warm = vec3(0.698, 0.094, 0.169);
  return t < 0.0 ? mix(mid, cold, -t) : mix(mid, warm, t);
}

void main() {
  // Row 0 of the source lands in row 0 of the target, which ImGui draws at the top.
  vec4 texel = texture(image, uv);
  if (style == 1) {
    float v = channels == 1 ? texel.r : (texel.r + texel.g + texel.b) / 3.0;
    color = vec4(diverging(clamp(v / max(range, 1e-6), -1.0, 1.0)), 1.0);
  } else {
    vec3 rgb = channels == 1 ? texel.rrr : texel.rgb;
    color = vec4(clamp((rgb - lo) / max(hi - lo, 1e-6), 0.0, 1.0), 1.0);
  }
}

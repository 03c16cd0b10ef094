/** How a shader sees one binding; the generator numbers them in list order. */
export interface BindingSpec {
  name: string;
  access: 'uniform' | 'read' | 'read_write';
  /** WGSL type of the variable, e.g. `array<f32>` or `Params`. */
  type: string;
}

export function bindingsWgsl(specs: readonly BindingSpec[]): string {
  return specs
    .map((b, i) => {
      const space = b.access === 'uniform' ? 'uniform' : `storage, ${b.access}`;
      return `@group(0) @binding(${i}) var<${space}> ${b.name}: ${b.type};`;
    })
    .join('\n');
}

export function bindGroupLayoutFor(device: GPUDevice, specs: readonly BindingSpec[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    entries: specs.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: {
        type: b.access === 'uniform' ? 'uniform' : b.access === 'read' ? 'read-only-storage' : 'storage',
      },
    })),
  });
}

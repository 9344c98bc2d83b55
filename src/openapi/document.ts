import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ERROR_CODES } from '../common/error-codes';
import { componentSchemas } from './contract';
import './schemas';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Cloud credential broker')
    .setDescription(
      [
        'Connect Google Cloud, Azure, Tailscale and OVHcloud accounts and get short-lived access tokens for them.',
        '',
        'Errors are `application/problem+json` with a stable `code`:',
        '',
        ...Object.entries(ERROR_CODES).map(
          ([code, { status, title }]) => `- \`${code}\` (${status}): ${title}`,
        ),
      ].join('\n'),
    )
    .setVersion('1')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'A user JWT, or an API key cbk_…',
    })
    .addBasicAuth({
      type: 'http',
      scheme: 'basic',
      description: 'Admin (ADMIN_USER / ADMIN_PASSWORD_HASH)',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...componentSchemas() },
  };
  return document;
}

export function mountOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    useGlobalPrefix: false,
  });
}
